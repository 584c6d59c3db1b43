using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// One event of the run event bus (schema <see cref="SchemaVersion"/>, documented in <c>docs/events.md</c>): what the
/// editor, the SSE endpoint and any other subscriber receive, published once and shared by all of them.
/// Every subscriber first gets a <c>run_state</c> message (the run as it stands), then live messages, and the last one is
/// always <c>run_ended</c>, built from the stored record, so it is the same whenever the subscriber joined.
/// </summary>
/// <param name="RunId">The run.</param>
/// <param name="Sequence">Position in the run's stream (run_state carries the sequence of the last message it includes).</param>
/// <param name="Kind">The wire kind: run_state, run_started, node_started, node_cached, node_finished, node_failed, progress, preview, output, metric, log, run_ended.</param>
/// <param name="Time">When it happened.</param>
/// <param name="Progress">The run's overall progress after it, 0 to 1, never decreasing (<see cref="RunProgress"/>).</param>
/// <param name="EtaSeconds">Estimated seconds left, when known.</param>
public sealed record RunMessage(string RunId, long Sequence, string Kind, DateTimeOffset Time, double Progress, double? EtaSeconds)
{
    /// <summary>The version of the wire schema; bumped when a field changes meaning or goes away.</summary>
    public const int SchemaVersion = 1;

    /// <summary>The first message every subscriber gets.</summary>
    public const string StateKind = "run_state";

    /// <summary>The one terminal message.</summary>
    public const string EndedKind = "run_ended";

    /// <summary>A line of the run's log.</summary>
    public const string LogKind = "log";

    private string? _json;

    /// <summary>The engine event behind a node, progress, preview, output, metric or run_started message.</summary>
    public RunEvent? Event { get; init; }

    /// <summary>The run as it stands, in a run_state message.</summary>
    public RunSnapshot? State { get; init; }

    /// <summary>The stored final record, in a run_ended message.</summary>
    public RunRecord? Record { get; init; }

    /// <summary>The text of a log message.</summary>
    public string? Text { get; init; }

    /// <summary>The wire JSON, written once however many subscribers send it.</summary>
    public string Json => _json ??= Api.RunMessageJson.Write(this).ToJsonString();
}
