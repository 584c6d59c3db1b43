using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Workflows;

/// <summary>The type names workflow inputs use in YAML.</summary>
public static class ValueTypes
{
    /// <summary>The accepted names, in the order help text lists them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["string", "int", "float", "bool", "float[]", "string[]"];

    /// <summary>The value type for a YAML type name, or null.</summary>
    public static ParameterValueType? Parse(string name) => name switch
    {
        "string" => ParameterValueType.String,
        "int" or "integer" => ParameterValueType.Integer,
        "float" or "number" => ParameterValueType.Number,
        "bool" or "boolean" => ParameterValueType.Boolean,
        "float[]" => ParameterValueType.NumberList,
        "string[]" => ParameterValueType.StringList,
        _ => null,
    };

    /// <summary>The YAML name of a value type.</summary>
    public static string Name(ParameterValueType type) => type switch
    {
        ParameterValueType.String => "string",
        ParameterValueType.Integer => "int",
        ParameterValueType.Number => "float",
        ParameterValueType.Boolean => "bool",
        ParameterValueType.NumberList => "float[]",
        ParameterValueType.StringList => "string[]",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
