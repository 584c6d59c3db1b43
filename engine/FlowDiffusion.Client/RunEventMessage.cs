using System.Text.Json;

namespace FlowDiffusion.Client;

/// <summary>One message of a run's event stream (<c>GET /api/runs/{id}/events</c>, schema in <c>docs/events.md</c>).</summary>
/// <param name="Kind">The SSE event name, which is also the message's <c>kind</c>: run_state, node_started, progress, preview, output, log, run_ended …</param>
/// <param name="Data">The message's JSON object.</param>
public sealed record RunEventMessage(string Kind, JsonElement Data)
{
    /// <summary>The last message of every stream.</summary>
    public const string EndedKind = "run_ended";
}
