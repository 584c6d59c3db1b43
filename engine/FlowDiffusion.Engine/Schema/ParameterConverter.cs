using System.Globalization;

namespace FlowDiffusion.Engine.Schema;

/// <summary>Converts YAML / JSON / command-line values to the CLR type of a parameter, with messages a user can act on.</summary>
public static class ParameterConverter
{
    /// <summary>Converts <paramref name="value"/> for <paramref name="parameter"/>, checking type, range and choices.</summary>
    /// <returns>null when it converts; otherwise what is wrong.</returns>
    public static string? TryConvert(object? value, ParameterDescriptor parameter, out object? result)
    {
        var type = Nullable.GetUnderlyingType(parameter.Property.PropertyType) ?? parameter.Property.PropertyType;
        result = null;
        if (value is null)
            return parameter.Property.PropertyType.IsValueType && Nullable.GetUnderlyingType(parameter.Property.PropertyType) is null
                ? $"needs a value of type {Describe(parameter.ValueType)}" : null;
        var error = ConvertTo(value, type, parameter.ValueType, out result);
        if (error is not null) return error;
        if (result is double d && !double.IsFinite(d) || result is float f && !float.IsFinite(f))
            return $"{Show(value)} is not a finite number";
        return CheckBounds(value, parameter.Min, parameter.Max, parameter.Choices, type.IsEnum);
    }

    /// <summary>Checks a converted or raw value against a range and a choice list.</summary>
    public static string? CheckBounds(object? value, double min, double max, IReadOnlyList<string> choices, bool enumChoices = false)
    {
        if (value is string s && choices.Count > 0 && !choices.Contains(enumChoices ? Normalise(s) : s, StringComparer.Ordinal))
        {
            var near = NodeCatalog.Closest(s, choices);
            return $"'{s}' is not one of: {string.Join(", ", choices.Select(c => $"'{c}'"))}" + (near.Count > 0 ? $" (did you mean '{near[0]}'?)" : "");
        }
        var number = AsDouble(value);
        if (number is { } n)
        {
            if (!double.IsFinite(n)) return $"{Format(n)} is not a finite number";
            if (!double.IsNaN(min) && n < min) return $"{Format(n)} is below the minimum {Format(min)}";
            if (!double.IsNaN(max) && n > max) return $"{Format(n)} is above the maximum {Format(max)}";
        }
        return null;
    }

    /// <summary>Parses command-line text (<c>--set name=value</c>) into a YAML-like value of the given type.</summary>
    public static string? TryParseText(string text, ParameterValueType type, out object? value)
    {
        value = null;
        switch (type)
        {
            case ParameterValueType.String:
                value = text;
                return null;
            case ParameterValueType.Boolean when bool.TryParse(text, out var b):
                value = b;
                return null;
            case ParameterValueType.Integer when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l):
                value = l;
                return null;
            case ParameterValueType.Integer when ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var u):
                value = u;
                return null;
            case ParameterValueType.Number when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d):
                value = d;
                return null;
            case ParameterValueType.NumberList:
                var parts = text.Trim('[', ']').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                var numbers = new List<object?>();
                foreach (var part in parts)
                {
                    if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var x))
                        return $"'{part}' in '{text}' is not a number";
                    numbers.Add(x);
                }
                value = numbers;
                return null;
            case ParameterValueType.StringList:
                value = text.Split(',', StringSplitOptions.TrimEntries).Cast<object?>().ToList();
                return null;
            default:
                return $"'{text}' is not {Describe(type)}";
        }
    }

    /// <summary>Whether a value of <paramref name="source"/> type may feed a parameter of <paramref name="target"/> type.</summary>
    public static bool Compatible(ParameterValueType source, ParameterValueType target) =>
        source == target
        || source == ParameterValueType.Integer && target == ParameterValueType.Number
        || target == ParameterValueType.String && source is not (ParameterValueType.NumberList or ParameterValueType.StringList);

    /// <summary>A phrase naming a value type ("an integer").</summary>
    public static string Describe(ParameterValueType type) => type switch
    {
        ParameterValueType.String => "text",
        ParameterValueType.Boolean => "true or false",
        ParameterValueType.Integer => "an integer",
        ParameterValueType.Number => "a number",
        ParameterValueType.NumberList => "a list of numbers",
        ParameterValueType.StringList => "a list of strings",
        _ => type.ToString(),
    };

    private static string? ConvertTo(object value, Type type, ParameterValueType valueType, out object? result)
    {
        result = null;
        try
        {
            if (type.IsEnum)
            {
                if (value is not string text) return $"expected one of: {string.Join(", ", Enum.GetNames(type).Select(SnakeCase.From))}, got {Show(value)}";
                var match = Enum.GetNames(type).FirstOrDefault(n => SnakeCase.From(n) == Normalise(text) || n.Equals(text, StringComparison.OrdinalIgnoreCase));
                if (match is null) return null; // reported by the choice check
                result = Enum.Parse(type, match);
                return null;
            }
            switch (Type.GetTypeCode(type))
            {
                case TypeCode.String:
                    result = value switch
                    {
                        string s => s,
                        bool b => b ? "true" : "false",
                        IFormattable f when value is not System.Collections.IEnumerable => f.ToString(null, CultureInfo.InvariantCulture),
                        _ => null,
                    };
                    return result is null ? $"expected text, got {Show(value)}" : null;
                case TypeCode.Boolean:
                    if (value is bool flag) { result = flag; return null; }
                    return $"expected true or false, got {Show(value)}";
                case TypeCode.Int32 or TypeCode.Int64 or TypeCode.UInt32 or TypeCode.UInt64:
                    if (value is double d && d == Math.Floor(d)) value = (long)d;
                    if (value is not (long or ulong or int)) return $"expected an integer, got {Show(value)}";
                    result = System.Convert.ChangeType(value, type, CultureInfo.InvariantCulture);
                    return null;
                case TypeCode.Single or TypeCode.Double:
                    if (value is not (long or ulong or double or int or float)) return $"expected a number, got {Show(value)}";
                    result = System.Convert.ChangeType(value, type, CultureInfo.InvariantCulture);
                    return null;
            }
            if (type.IsArray && value is System.Collections.IEnumerable items and not string)
            {
                var element = type.GetElementType()!;
                var list = items.Cast<object?>().ToList();
                var array = Array.CreateInstance(element, list.Count);
                for (var i = 0; i < list.Count; i++)
                {
                    var error = ConvertTo(list[i] ?? "", element, valueType, out var item);
                    if (error is not null) return $"item {i + 1}: {error}";
                    array.SetValue(item, i);
                }
                result = array;
                return null;
            }
            return $"expected {Describe(valueType)}, got {Show(value)}";
        }
        catch (OverflowException)
        {
            return $"{Show(value)} does not fit in {type.Name}";
        }
    }

    private static string Normalise(string text) => SnakeCase.From(text).Replace('-', '_');

    private static double? AsDouble(object? value) => value switch
    {
        long l => l,
        ulong u => u,
        int i => i,
        double d => d,
        float f => f,
        _ => null,
    };

    private static string Format(double value) => value.ToString("G", CultureInfo.InvariantCulture);

    private static string Show(object value) => value switch
    {
        string s => $"text '{s}'",
        bool b => b ? "true" : "false",
        System.Collections.IEnumerable => "a list",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
