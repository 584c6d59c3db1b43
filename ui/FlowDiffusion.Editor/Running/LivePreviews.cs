using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Running;

/// <summary>
/// The editor asks samplers for a preview every step, as ComfyUI's editor shows them, in the copy it queues: a
/// node with a <c>preview_every</c> parameter the workflow leaves unset gets 1. The saved file, and so the CLI, is unchanged.
/// </summary>
public static class LivePreviews
{
    /// <summary>The parameter samplers take their preview interval from.</summary>
    public const string Parameter = "preview_every";

    /// <summary><paramref name="workflow"/> with previews requested from every node that takes them and has none set.</summary>
    public static Workflow Requested(Workflow workflow, NodeCatalog catalog) => workflow with
    {
        Nodes = workflow.Nodes.Select(n => catalog.Find(n.Type)?.Parameter(Parameter) is { ValueType: ParameterValueType.Integer } && n.Parameter(Parameter) is null
            ? n with { Parameters = [.. n.Parameters, new NodeParameter(Parameter, new LiteralValue(1L))] }
            : n).ToList(),
    };
}
