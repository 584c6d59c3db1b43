using System.Text.RegularExpressions;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

/// <summary>
/// Where on a node a validation problem sits: an input port, a parameter, or the node as a whole. Read from the
/// validator's messages, which name the port or parameter first in quotes ("missing required input 'clip'",
/// "type mismatch: input 'guider' …", "parameter 'steps' …"), or the link whose source is missing.
/// </summary>
public sealed partial record ProblemPlace(string? NodeId, string? Port, string? Parameter)
{
    /// <summary>The place of <paramref name="problem"/> in <paramref name="workflow"/>.</summary>
    public static ProblemPlace Of(Diagnostic problem, Workflow workflow) =>
        Of(problem, problem.NodeId is null ? null : workflow.Node(problem.NodeId));

    /// <summary>The place of <paramref name="problem"/> on <paramref name="node"/> (the node it names, or null).</summary>
    public static ProblemPlace Of(Diagnostic problem, WorkflowNode? node)
    {
        if (node is null || node.Id != problem.NodeId) return new(problem.NodeId, null, null);
        if (InputMessage().Match(problem.Message) is { Success: true } input) return new(node.Id, input.Groups["name"].Value, null);
        if (ParameterMessage().Match(problem.Message) is { Success: true } parameter) return new(node.Id, null, parameter.Groups["name"].Value);
        if (MissingOutputMessage().Match(problem.Message) is { Success: true } output
            && node.Inputs.FirstOrDefault(e => e.SourceNode == output.Groups["node"].Value && e.SourceOutput == output.Groups["output"].Value) is { } edge)
            return new(node.Id, edge.Port, null);
        return new(node.Id, null, null);
    }

    /// <summary>"node.port", "node.parameter", "node", or null for a workflow-wide problem.</summary>
    public string? Label => NodeId is null ? null : (Port ?? Parameter) is { } part ? $"{NodeId}.{part}" : NodeId;

    [GeneratedRegex("^(?:missing required |type mismatch: )?input '(?<name>[^']+)'")]
    private static partial Regex InputMessage();

    [GeneratedRegex("^(?:missing required )?parameter '(?<name>[^']+)'")]
    private static partial Regex ParameterMessage();

    [GeneratedRegex(@"^node '(?<node>[^']+)' \([^)]*\) has no output '(?<output>[^']+)'")]
    private static partial Regex MissingOutputMessage();
}
