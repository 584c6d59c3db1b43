using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

/// <summary>
/// A seed the editor controls, as found in one workflow: a workflow input (by name) or a node parameter
/// (<c>node.parameter</c>), with its range and current value. A parameter bound to a workflow input is no slot of its
/// own: the input is the seed.
/// </summary>
/// <param name="Name">The input name or <c>node.parameter</c>.</param>
/// <param name="Range">The values it may take.</param>
/// <param name="Value">The value a run would use now; null when it is not a whole number.</param>
internal readonly record struct SeedSlot(string Name, SeedRange Range, long? Value)
{
    /// <summary>The seed <paramref name="name"/> in <paramref name="workflow"/>, or null when it is not there (or bound to an input).</summary>
    public static SeedSlot? Find(Workflow workflow, NodeCatalog catalog, string name)
    {
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
            return workflow.Input(name) is { } input ? new SeedSlot(name, SeedRange.Of(input.Min, input.Max), Whole(input.Default)) : null;
        if (workflow.Node(name[..dot]) is not { } node || catalog.Find(node.Type)?.Parameter(name[(dot + 1)..]) is not { } parameter)
            return null;
        var set = node.Parameter(parameter.Name)?.Value;
        if (set is InputReference) return null;
        var range = SeedRange.Of(parameter.HasMin ? parameter.Min : null, parameter.HasMax ? parameter.Max : null);
        return new SeedSlot(name, range, Whole(set is LiteralValue literal ? literal.Value : parameter.Default));
    }

    /// <summary><paramref name="workflow"/> with this seed set to <paramref name="value"/>.</summary>
    public Workflow Set(Workflow workflow, long value)
    {
        var dot = Name.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            var input = Name;
            return workflow with { Inputs = workflow.Inputs.Select(i => i.Name == input ? i with { Default = value } : i).ToList() };
        }
        var (nodeId, parameter) = (Name[..dot], Name[(dot + 1)..]);
        var literal = new NodeParameter(parameter, new LiteralValue(value));
        return workflow with { Nodes = workflow.Nodes.Select(n => n.Id == nodeId ? n with { Parameters = With(n.Parameters, literal), Location = null } : n).ToList() };
    }

    // The parameter replaced where it is, so a saved file changes on the seed's line only; added when it was unset.
    private static List<NodeParameter> With(IReadOnlyList<NodeParameter> parameters, NodeParameter literal) =>
        parameters.Any(p => p.Name == literal.Name) ? parameters.Select(p => p.Name == literal.Name ? literal : p).ToList() : [.. parameters, literal];

    private static long? Whole(object? value) => value switch
    {
        long l => l,
        int i => i,
        uint u => u,
        ulong u when u <= long.MaxValue => (long)u,
        double d when Math.Floor(d) == d && Math.Abs(d) < 9e15 => (long)d,
        _ => null,
    };
}
