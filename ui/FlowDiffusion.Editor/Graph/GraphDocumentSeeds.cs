using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

// New seeds for a re-run: every seed of the graph, whatever its control, rolled within its range.
public sealed partial class GraphDocument
{
    /// <summary>
    /// Gives every seed a new random value within its range, as one edit: the workflow inputs that are seeds and the
    /// seed parameters that are set on their node (a parameter bound to an input takes the input's new value). Used to
    /// re-run a past run with a new seed; returns the new values by seed name (input name or <c>node.parameter</c>).
    /// </summary>
    public IReadOnlyDictionary<string, long> NewSeeds(Random random)
    {
        var names = Workflow.Inputs.Where(i => ValueSpec.Of(i).Kind == "seed").Select(i => i.Name)
            .Concat(Workflow.Nodes.SelectMany(n => (Catalog.Find(n.Type)?.Parameters ?? [])
                .Where(p => ValueSpec.Of(p).Kind == "seed").Select(p => n.Id + "." + p.Name)));
        var rolled = new Dictionary<string, long>(StringComparer.Ordinal);
        var next = Workflow;
        foreach (var name in names)
        {
            if (SeedSlot.Find(next, Catalog, name) is not { } slot) continue;
            rolled[name] = slot.Range.Roll(random);
            next = slot.Set(next, rolled[name]);
        }
        if (rolled.Count > 0) Commit(next);
        return rolled;
    }
}
