namespace FlowDiffusion.Sdk;

/// <summary>
/// Marks a property as an input port: its value arrives over an edge from another node's output. The property's
/// type is the port type; any output whose type is assignable to it may connect (base types and interfaces work).
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class InputAttribute : Attribute
{
    /// <summary>What the input is for.</summary>
    public string Description { get; init; } = "";

    /// <summary>Whether the node runs without this input connected (the property keeps its default, usually null).</summary>
    public bool Optional { get; init; }
}
