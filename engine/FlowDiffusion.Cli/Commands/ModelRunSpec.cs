using System.Globalization;

namespace FlowDiffusion.Cli.Commands;

/// <summary>
/// A <c>FILE:NUMBER</c> option of <c>model-run</c> (<c>--controlnet</c>, <c>--t2i-adapter</c>, <c>--ipadapter</c>): the
/// file (or folder, where the option takes one) and its strength or weight, each refused by name when malformed or missing.
/// </summary>
internal static class ModelRunSpec
{
    /// <summary>Splits <paramref name="spec"/> at its last colon; <paramref name="example"/> shows the form in the error.</summary>
    public static (string File, float Value) Parse(string option, string spec, string number, string example, bool folders = true)
    {
        var colon = spec.LastIndexOf(':');
        if (colon <= 0 || !float.TryParse(spec[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw new UsageException($"{option} {spec}: give FILE:{number}, e.g. {example}");
        }

        var file = spec[..colon];
        if (!File.Exists(file) && !(folders && Directory.Exists(file)))
        {
            throw new UsageException($"{option} {spec}: no such file{(folders ? " or folder" : "")} '{file}'");
        }

        return (file, value);
    }
}
