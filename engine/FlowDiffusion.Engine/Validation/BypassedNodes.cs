using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Validation;

/// <summary>
/// Bypass (ComfyUI's mute/bypass): a node marked <c>bypass: true</c> does not run; each of its outputs passes on the value
/// of its first connected input of the same type, so a bypassed LoRA or upscale node leaves the graph working without it.
/// Resolved before validation by rewiring its consumers to those sources and dropping the node.
/// </summary>
public static class BypassedNodes
{
    /// <summary>
    /// The workflow without its bypassed nodes, consumers wired to what those nodes pass through; an output with no
    /// same-typed input to pass is an error naming the bypassed node (its consumers are left unconnected).
    /// </summary>
    public static Workflow PassThrough(Workflow workflow, NodeCatalog catalog, List<Diagnostic> diagnostics)
    {
        if (!workflow.Nodes.Any(n => n.Bypass)) return workflow;
        var byId = workflow.Nodes.GroupBy(n => n.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var reported = new HashSet<(string, string)>();
        var nodes = new List<WorkflowNode>();
        foreach (var node in workflow.Nodes.Where(n => !n.Bypass))
        {
            var inputs = new List<NodeEdge>();
            foreach (var edge in node.Inputs)
            {
                if (Source(edge, byId, catalog, []) is { } source) inputs.Add(source);
                else if (byId.TryGetValue(edge.SourceNode, out var bypassed) && reported.Add((bypassed.Id, edge.SourceOutput)))
                    diagnostics.Add(Diagnostic.Error(
                        $"bypassed: output '{edge.SourceOutput}' has no connected input of its type to pass through to '{node.Id}.{edge.Port}'; un-bypass the node or connect such an input",
                        bypassed.Id, bypassed.Location, workflow.SourceFile));
            }
            nodes.Add(inputs.Count == node.Inputs.Count && inputs.SequenceEqual(node.Inputs) ? node : node with { Inputs = inputs });
        }
        return workflow with { Nodes = nodes };
    }

    // Where the value of `edge` really comes from, following bypassed nodes; null when a bypassed node has nothing to pass.
    private static NodeEdge? Source(NodeEdge edge, Dictionary<string, WorkflowNode> byId, NodeCatalog catalog, HashSet<string> seen)
    {
        if (!byId.TryGetValue(edge.SourceNode, out var node) || !node.Bypass) return edge;
        if (!seen.Add(node.Id)) return null;
        var output = catalog.Find(node.Type)?.Output(edge.SourceOutput);
        var descriptor = catalog.Find(node.Type);
        if (output is null || descriptor is null) return null;
        foreach (var input in descriptor.Inputs.Where(i => i.Type == output.Type))
            if (node.Edge(input.Name) is { } upstream && Source(upstream, byId, catalog, seen) is { } found)
                return edge with { SourceNode = found.SourceNode, SourceOutput = found.SourceOutput };
        return null;
    }
}
