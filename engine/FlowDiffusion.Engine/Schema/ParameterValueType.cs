namespace FlowDiffusion.Engine.Schema;

/// <summary>The YAML-level type of a parameter or workflow input.</summary>
public enum ParameterValueType
{
    /// <summary>Text.</summary>
    String,

    /// <summary>true / false.</summary>
    Boolean,

    /// <summary>A whole number (64-bit).</summary>
    Integer,

    /// <summary>A floating-point number.</summary>
    Number,

    /// <summary>A list of numbers.</summary>
    NumberList,

    /// <summary>A list of strings.</summary>
    StringList,
}
