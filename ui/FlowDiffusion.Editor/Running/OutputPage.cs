namespace FlowDiffusion.Editor.Running;

/// <summary>One page of the output browser.</summary>
/// <param name="Items">The outputs on it, newest first.</param>
/// <param name="Offset">The position of its first item among all that pass the filter.</param>
/// <param name="Total">How many outputs pass the filter, on all pages.</param>
/// <param name="Workflows">The saved workflows any output came from, for the filter's choices (ordinal order).</param>
public sealed record OutputPage(IReadOnlyList<OutputItem> Items, int Offset, int Total, IReadOnlyList<string> Workflows)
{
    /// <summary>
    /// The page of <paramref name="count"/> outputs at <paramref name="offset"/> among <paramref name="all"/> (any order)
    /// that pass <paramref name="filter"/>, newest first; an offset past the end gives the last page.
    /// </summary>
    public static OutputPage Of(IEnumerable<OutputItem> all, OutputFilter filter, int offset, int count)
    {
        var items = all.ToList();
        var passing = items.Where(filter.Matches).OrderByDescending(i => i.Time).ToList();
        count = Math.Max(1, count);
        offset = Math.Clamp(offset, 0, Math.Max(0, (passing.Count - 1) / count * count));
        var workflows = items.Select(i => i.Workflow).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new OutputPage(passing.Skip(offset).Take(count).ToList(), offset, passing.Count, workflows);
    }
}
