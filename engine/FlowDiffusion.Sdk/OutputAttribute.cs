namespace FlowDiffusion.Sdk;

/// <summary>
/// Marks a property as an output port. The node sets it in <see cref="INode.ExecuteAsync"/>; the engine reads it
/// afterwards, checks it against the declared type and passes it along the edges.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class OutputAttribute : Attribute
{
    /// <summary>What the output holds.</summary>
    public string Description { get; init; } = "";

    /// <summary>The port type when it is narrower than the property's type (a property typed <see cref="object"/>, say).</summary>
    public Type? Type { get; init; }
}
