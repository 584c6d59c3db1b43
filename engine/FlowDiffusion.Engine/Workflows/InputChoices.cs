using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Workflows;

/// <summary>
/// The allowed values of a workflow input: its own <c>choices:</c> list, or those of the node parameter it names
/// (<c>choices: schedule.name</c>), so that a list kept by a node (the scheduler names) is not repeated in every file.
/// The validator, the editor's form, the CLI and the API all read an input's choices here.
/// </summary>
public static class InputChoices
{
    /// <summary>The input's allowed values; empty for free values or a reference that does not resolve.</summary>
    /// <param name="input">The input.</param>
    /// <param name="workflow">The workflow declaring it.</param>
    /// <param name="catalog">The node types.</param>
    public static IReadOnlyList<string> Of(WorkflowInput input, Workflow workflow, NodeCatalog catalog) =>
        input.ChoicesOf is null ? input.Choices ?? [] : Resolve(input.ChoicesOf, workflow, catalog, out _);

    /// <summary>The workflow with every <c>choices: node.parameter</c> resolved into the input's list (the reference is kept for writing).</summary>
    /// <param name="workflow">The workflow.</param>
    /// <param name="catalog">The node types.</param>
    /// <param name="problems">Receives (input, message) for each reference that does not resolve.</param>
    public static Workflow Resolved(Workflow workflow, NodeCatalog catalog, Action<WorkflowInput, string> problems)
    {
        if (workflow.Inputs.All(i => i.ChoicesOf is null)) return workflow;
        var inputs = workflow.Inputs.Select(input =>
        {
            if (input.ChoicesOf is null) return input;
            var choices = Resolve(input.ChoicesOf, workflow, catalog, out var problem);
            if (problem is not null) problems(input, $"workflow input '{input.Name}': choices: {input.ChoicesOf}: {problem}");
            return input with { Choices = choices };
        }).ToList();
        return workflow with { Inputs = inputs };
    }

    private static IReadOnlyList<string> Resolve(string reference, Workflow workflow, NodeCatalog catalog, out string? problem)
    {
        var dot = reference.IndexOf('.', StringComparison.Ordinal);
        var (nodeId, parameterName) = (reference[..dot], reference[(dot + 1)..]);
        problem = null;
        if (workflow.Node(nodeId) is not { } node)
        {
            var near = NodeCatalog.Closest(nodeId, workflow.Nodes.Select(n => n.Id));
            problem = $"the workflow has no node '{nodeId}'" + (near.Count > 0 ? $"; did you mean '{near[0]}'?" : "");
            return [];
        }
        if (catalog.Find(node.Type) is not { } descriptor)
        {
            problem = $"node '{nodeId}' has the unknown type '{node.Type}'";
            return [];
        }
        if (descriptor.Parameter(parameterName) is not { } parameter)
        {
            var near = NodeCatalog.Closest(parameterName, descriptor.Parameters.Select(p => p.Name));
            problem = $"'{descriptor.Id}' has no parameter '{parameterName}'" + (near.Count > 0 ? $"; did you mean '{near[0]}'?" : "");
            return [];
        }
        if (parameter.Choices.Count == 0)
        {
            problem = $"parameter '{parameterName}' of '{descriptor.Id}' takes any value; give the input a list instead";
            return [];
        }
        return parameter.Choices;
    }
}
