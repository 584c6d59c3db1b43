using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FlowDiffusion.Engine.Workflows;

/// <summary>YAML 1.2 core-schema reading of plain scalars, and the inverse test the writer uses to decide quoting.</summary>
internal static partial class YamlScalars
{
    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    /// <summary>The typed value of a scalar node: quoted and block scalars are strings; plain ones may be bool, number or null.</summary>
    public static object? Value(YamlScalarNode node)
    {
        var text = node.Value ?? "";
        if (node.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
            return text;
        return Plain(text);
    }

    /// <summary>The typed value of plain scalar text.</summary>
    public static object? Plain(string text)
    {
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
        }
        if (IntegerPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            return integer;
        if (IntegerPattern().IsMatch(text) && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var large))
            return large;
        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            return number;
        return text;
    }

    /// <summary>Whether a string must be quoted so it reads back as the same string.</summary>
    public static bool NeedsQuotes(string text) =>
        Plain(text) is not string || text.Trim() != text;

    /// <summary>Invariant text for a number that reads back as the same type.</summary>
    public static string Format(object value) => value switch
    {
        double d when double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) < 1e15 => d.ToString("0.0", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => Format((double)f),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
