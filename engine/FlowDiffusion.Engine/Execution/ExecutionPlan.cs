using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Execution;

/// <summary>A validated workflow with its inputs applied: nodes in topological order, ready for the executor.</summary>
public sealed class ExecutionPlan
{
    internal ExecutionPlan(Workflow workflow, IReadOnlyList<PlannedNode> nodes, IReadOnlyDictionary<string, object?> inputs)
    {
        Workflow = workflow;
        Nodes = nodes;
        Inputs = inputs;
        Dependents = BuildDependents(nodes);
    }

    /// <summary>The workflow this plan was made from.</summary>
    public Workflow Workflow { get; }

    /// <summary>Nodes in a topological order (every node after the nodes it reads from).</summary>
    public IReadOnlyList<PlannedNode> Nodes { get; }

    /// <summary>The resolved workflow inputs (defaults merged with what the caller set).</summary>
    public IReadOnlyDictionary<string, object?> Inputs { get; }

    /// <summary>For each node index, the indexes of the nodes that read from it (distinct).</summary>
    public IReadOnlyList<int[]> Dependents { get; }

    /// <summary>The planned node with this id, or null.</summary>
    public PlannedNode? Find(string id) => Nodes.FirstOrDefault(n => n.Id == id);

    private static int[][] BuildDependents(IReadOnlyList<PlannedNode> nodes)
    {
        var lists = nodes.Select(_ => new List<int>()).ToArray();
        foreach (var node in nodes)
        foreach (var source in node.Inputs.Select(e => e.SourceIndex).Distinct())
            lists[source].Add(node.Index);
        return lists.Select(l => l.ToArray()).ToArray();
    }
}
