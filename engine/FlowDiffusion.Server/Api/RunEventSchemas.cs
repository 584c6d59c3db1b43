using System.Text.Json.Nodes;
using FlowDiffusion.Server.Runs;
using Microsoft.OpenApi;
using S = FlowDiffusion.Server.Api.ApiSchemas;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// The JSON data of each server-sent event of <c>GET /api/runs/{id}/events</c> (schema v1, <c>docs/events.md</c>), by its
/// SSE event name (the same as its <c>kind</c>), as <see cref="RunMessageJson"/> writes it. The OpenAPI document lists
/// them under <c>components/schemas</c> and maps each event name to its schema in the stream's <c>x-sse-events</c>.
/// </summary>
internal static class RunEventSchemas
{
    /// <summary>The OpenAPI extension on the event stream's media type: event name → the schema of its data.</summary>
    public const string Extension = "x-sse-events";

    /// <summary>Each event's schema name (in <c>components/schemas</c>) by its event name, in the order a stream sends them.</summary>
    public static IReadOnlyList<(string Kind, string Schema)> Kinds { get; } =
    [
        (RunMessage.StateKind, "RunStateEvent"),
        ("run_started", "RunStartedEvent"),
        ("node_started", "NodeStartedEvent"),
        ("node_cached", "NodeCachedEvent"),
        ("node_finished", "NodeFinishedEvent"),
        ("node_failed", "NodeFailedEvent"),
        ("progress", "ProgressEvent"),
        ("preview", "PreviewEvent"),
        ("output", "OutputEvent"),
        ("metric", "MetricEvent"),
        (RunMessage.LogKind, "LogEvent"),
        (RunMessage.EndedKind, "RunEndedEvent"),
    ];

    /// <summary>Every schema the events use, by name.</summary>
    public static IReadOnlyDictionary<string, OpenApiSchema> All { get; } = Build();

    private static Dictionary<string, OpenApiSchema> Build()
    {
        var schemas = new Dictionary<string, OpenApiSchema>(StringComparer.Ordinal)
        {
            ["RunStateEvent"] = Live(RunMessage.StateKind, "The run as it stands when the subscriber joined: first event of every stream.",
                S.Required("status", S.RunStatus()),
                S.Required("attempt", S.Integer("The attempt under way (0 before the first).")),
                S.Required("nodes", S.MapOf("Each node's state by node id.", S.Ref("EventNodeState"))),
                S.Required("previews", S.MapOf("The latest preview of each node that published one, by node id: a BMP data URL.", S.String("A data URL (data:image/bmp;base64,…)."))),
                S.Required("outputs", S.Array("The files written so far.", S.Ref("EventOutput")))),
            ["EventNodeState"] = S.Object("A node's state in a run_state event.",
                S.Required("state", S.Enum("What the node is doing.", "queued", "running", "cached", "finished", "failed")),
                S.Required("step", S.Integer("The last step it reported (0 before any).")),
                S.Required("total_steps", S.Integer("Its step count, once it reported one (else 0).")),
                S.Required("duration_ms", S.Nullable(S.Number("Milliseconds it ran, once finished."))),
                S.Required("error", S.Nullable(S.String("Why it failed, when it did.")))),
            ["EventOutput"] = S.Object("A file a node wrote.",
                S.Required("node", S.String("The node's id.")),
                S.Required("file", S.String("Its name inside the run's folder.")),
                S.Required("url", S.String("Where the API serves it (GET it, relative to the server's address)."))),
            ["RunStartedEvent"] = Live("run_started", "An attempt began.",
                S.Required("nodes", S.Array("The ids of the nodes it will execute or serve from cache.", S.String("A node id.")))),
            ["NodeStartedEvent"] = Live("node_started", "A node began executing.", NodeFields()),
            ["NodeCachedEvent"] = Live("node_cached", "A node's outputs came from the cache.", NodeFields()),
            ["NodeFinishedEvent"] = Live("node_finished", "A node finished.",
                [.. NodeFields(), S.Required("duration_ms", S.Number("Milliseconds it ran."))]),
            ["NodeFailedEvent"] = Live("node_failed", "A node failed.",
                [.. NodeFields(), S.Required("error", S.String("Why."))]),
            ["ProgressEvent"] = Live("progress", "A node reported progress (a sampler, once per step).",
                S.Required("node", S.String("The node's id.")),
                S.Required("fraction", S.Number("How much of the node's work is done, 0 to 1.")),
                S.Required("step", S.Integer("The step done (0 when the node counts no steps).")),
                S.Required("total_steps", S.Integer("Its step count (0 when it counts none).")),
                S.Required("message", S.Nullable(S.String("What it is doing, when it says.")))),
            ["PreviewEvent"] = Live("preview", "A node published a preview image.",
                S.Required("node", S.String("The node's id.")),
                S.Required("width", S.Integer("The width of the image the node made.")),
                S.Required("height", S.Integer("Its height.")),
                S.Required("image", S.String("The preview as a BMP data URL, at most 256 pixels a side."))),
            ["OutputEvent"] = Live("output", "A node wrote a file.",
                S.Required("node", S.String("The node's id.")),
                S.Required("file", S.String("Its name inside the run's folder.")),
                S.Required("url", S.String("Where the API serves it (GET it, relative to the server's address)."))),
            ["MetricEvent"] = Live("metric", "A node added to a named measurement (onnx_run_seconds, say).",
                S.Required("node", S.String("The node's id.")),
                S.Required("name", S.String("The measurement.")),
                S.Required("value", S.Number("What it added."))),
            ["LogEvent"] = Live(RunMessage.LogKind, "A line of the run's log (a re-run removing an earlier attempt's files, a re-queue).",
                S.Required("message", S.String("The line."))),
            ["RunEndedEvent"] = S.Object("The last event of every stream, exactly once, written from the stored run alone.",
                [.. Common(RunMessage.EndedKind),
                S.Required("time", S.Nullable(S.String("When the run finished.", "date-time"))),
                S.Required("status", S.RunStatus()),
                S.Required("error", S.Nullable(S.String("Why it failed, when it did."))),
                S.Required("attempts", S.Integer("How many times a worker claimed it.")),
                S.Required("started", S.Nullable(S.String("When it started.", "date-time"))),
                S.Required("finished", S.Nullable(S.String("When it finished.", "date-time"))),
                S.Required("nodes", S.Array("Each node's timing, in the order they finished.", S.Ref("NodeTiming"))),
                S.Required("outputs", S.Array("The files it wrote.", S.Ref("RunOutput")))]),
        };
        return schemas;
    }

    // Fields every event has.
    private static S.Property[] Common(string kind) =>
    [
        S.Required("v", Version()),
        S.Required("kind", S.Enum("The event's kind, also its SSE event name.", kind)),
        S.Required("run_id", S.String("The run.")),
    ];

    // An event other than run_ended: with its position, time and the run's progress.
    private static OpenApiSchema Live(string kind, string description, params S.Property[] fields) => S.Object(description,
    [
        .. Common(kind),
        S.Required("seq", S.Integer("Its position in the run's stream (a run_state carries the position of the last event it includes).", "int64")),
        S.Required("time", S.String("When it happened.", "date-time")),
        S.Required("overall", S.Number("The run's overall progress after it, 0 to 1, never decreasing.")),
        S.Required("eta_seconds", S.Nullable(S.Number("Estimated seconds left, when known."))),
        .. fields,
    ]);

    private static OpenApiSchema Version()
    {
        var version = S.Integer("The event schema's version; a field that changes meaning or goes away bumps it, new fields do not.");
        version.Enum = [JsonValue.Create(RunMessage.SchemaVersion)];
        return version;
    }

    private static S.Property[] NodeFields() =>
    [
        S.Required("node", S.String("The node's id.")),
        S.Required("node_type", S.String("The node's type.")),
    ];
}
