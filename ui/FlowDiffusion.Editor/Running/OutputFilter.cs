namespace FlowDiffusion.Editor.Running;

/// <summary>Which outputs the output browser lists: of one saved workflow, and between two days (in the editor's time zone), both inclusive.</summary>
/// <param name="Workflow">A saved workflow's name; null or empty for all.</param>
/// <param name="From">The first day; null for no lower bound.</param>
/// <param name="To">The last day; null for no upper bound.</param>
public sealed record OutputFilter(string? Workflow = null, DateOnly? From = null, DateOnly? To = null)
{
    /// <summary>Whether <paramref name="item"/> passes.</summary>
    public bool Matches(OutputItem item)
    {
        if (!string.IsNullOrEmpty(Workflow) && !string.Equals(item.Workflow, Workflow, StringComparison.Ordinal)) return false;
        var day = DateOnly.FromDateTime(item.Time.ToLocalTime().DateTime);
        return (From is not { } from || day >= from) && (To is not { } to || day <= to);
    }
}
