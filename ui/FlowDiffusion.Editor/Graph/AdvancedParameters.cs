using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

/// <summary>
/// How a node's parameters split into those it always shows and the advanced ones behind its "Advanced (N)" toggle, and
/// which of the advanced ones are set away from their defaults, so that the closed toggle never hides a change.
/// </summary>
public static class AdvancedParameters
{
    /// <summary>The parameters a node of type <paramref name="type"/> always shows, in declaration order.</summary>
    public static IReadOnlyList<ParameterDescriptor> Basic(NodeDescriptor type) => type.Parameters.Where(p => !p.Advanced).ToList();

    /// <summary>The advanced parameters of <paramref name="type"/>, in declaration order.</summary>
    public static IReadOnlyList<ParameterDescriptor> Of(NodeDescriptor type) => type.Parameters.Where(p => p.Advanced).ToList();

    /// <summary>
    /// The advanced parameters of <paramref name="node"/> that differ from their declared defaults: a literal of another
    /// value, or a binding to a workflow input (whose value the node does not decide).
    /// </summary>
    public static IReadOnlyList<ParameterDescriptor> Changed(NodeDescriptor type, WorkflowNode node) =>
        Of(type).Where(p => IsChanged(p, node.Parameter(p.Name)?.Value)).ToList();

    /// <summary>Whether <paramref name="value"/> (null: not set) differs from <paramref name="parameter"/>'s default.</summary>
    public static bool IsChanged(ParameterDescriptor parameter, ParameterValue? value) => value switch
    {
        null => false,
        InputReference => true,
        // Compared as JSON, so 1 (an integer literal) equals a default of 1.0 and a list equals a list of the same items.
        LiteralValue literal => NodeSchemaJson.Value(literal.Value)?.ToJsonString() != NodeSchemaJson.Value(parameter.Default)?.ToJsonString(),
        _ => true,
    };
}
