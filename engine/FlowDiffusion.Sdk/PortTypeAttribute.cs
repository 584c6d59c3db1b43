namespace FlowDiffusion.Sdk;

/// <summary>
/// Gives a value type its identity on the canvas: the name the validator and the editor show and a colour hint.
/// Types without it are named after the CLR type.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Interface | AttributeTargets.Struct, Inherited = false)]
public sealed class PortTypeAttribute : Attribute
{
    /// <summary>Names a port type.</summary>
    /// <param name="name">The display name, upper case by convention, e.g. <c>LATENT</c>.</param>
    /// <param name="color">A CSS colour hint for ports and links, e.g. <c>#ff9cf9</c>.</param>
    public PortTypeAttribute(string name, string color)
    {
        Name = name;
        Color = color;
    }

    /// <summary>The display name.</summary>
    public string Name { get; }

    /// <summary>The colour hint.</summary>
    public string Color { get; }
}
