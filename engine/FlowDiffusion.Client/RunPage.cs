using System.Text.Json.Serialization;

namespace FlowDiffusion.Client;

/// <summary>One page of run history, newest first (<c>GET /api/runs</c>).</summary>
public sealed record RunPage
{
    /// <summary>The runs on this page.</summary>
    public IReadOnlyList<RunInfo> Runs { get; init; } = [];

    /// <summary>How many runs match, on all pages.</summary>
    public int Total { get; init; }

    /// <summary>The offset of this page.</summary>
    public int Offset { get; init; }

    /// <summary>The offset of the next page; null on the last.</summary>
    [JsonPropertyName("next_offset")]
    public int? NextOffset { get; init; }
}
