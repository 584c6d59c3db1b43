using System.Text.Json;
using System.Text.Json.Serialization;

namespace FlowDiffusion.Client;

/// <summary>A run as <c>GET /api/runs/{id}</c> describes it.</summary>
public sealed record RunInfo
{
    /// <summary>The run's id.</summary>
    public required string Id { get; init; }

    /// <summary>queued, running, completed, failed, cancelled or interrupted.</summary>
    public required string Status { get; init; }

    /// <summary>The saved workflow's name, when the run was submitted by name.</summary>
    public string? Workflow { get; init; }

    /// <summary>Higher runs first.</summary>
    public int Priority { get; init; }

    /// <summary>When it was submitted, started and finished.</summary>
    public DateTimeOffset? Submitted { get; init; }

    /// <summary>When it started.</summary>
    public DateTimeOffset? Started { get; init; }

    /// <summary>When it finished.</summary>
    public DateTimeOffset? Finished { get; init; }

    /// <summary>The input values it ran with.</summary>
    public JsonElement? Inputs { get; init; }

    /// <summary>The files it wrote.</summary>
    public IReadOnlyList<RunOutput> Outputs { get; init; } = [];

    /// <summary>Why it failed, when it did.</summary>
    public string? Error { get; init; }

    /// <summary>Whether the run has ended (completed, failed, cancelled or interrupted).</summary>
    [JsonIgnore]
    public bool IsFinal => Status is "completed" or "failed" or "cancelled" or "interrupted";
}
