namespace FlowDiffusion.Editor.Graph;

/// <summary>Whether a link may be made, and why not.</summary>
public sealed record LinkVerdict(bool Allowed, string? Reason = null)
{
    /// <summary>The link is fine.</summary>
    public static LinkVerdict Yes { get; } = new(true);

    /// <summary>The link is refused for <paramref name="reason"/>.</summary>
    public static LinkVerdict No(string reason) => new(false, reason);
}
