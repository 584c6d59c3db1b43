using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>Converts engine events to <see cref="WireEvent"/> and back; the run id travels with the lease, not in each event.</summary>
public static class WireEvents
{
    /// <summary>The kind of a log line.</summary>
    public const string LogKind = "log";

    /// <summary>A log line.</summary>
    public static WireEvent Log(string text) => new(LogKind, DateTimeOffset.UtcNow, Text: text);

    /// <summary>The wire form of <paramref name="item"/>; null for the run's own end events, which the coordinator writes from the stored record.</summary>
    public static WireEvent? ToWire(RunEvent item) => item switch
    {
        RunStarted e => new(e.Kind, e.Time, Nodes: [.. e.Nodes]),
        NodeStarted e => new(e.Kind, e.Time, e.NodeId, e.NodeType),
        NodeCached e => new(e.Kind, e.Time, e.NodeId, e.NodeType),
        NodeFinished e => new(e.Kind, e.Time, e.NodeId, e.NodeType, DurationTicks: e.Duration.Ticks),
        NodeFailed e => new(e.Kind, e.Time, e.NodeId, e.NodeType, e.Error),
        NodeProgressed e => new(e.Kind, e.Time, e.NodeId, Text: e.Progress.Message, Number: e.Progress.Fraction, Step: e.Progress.Step, TotalSteps: e.Progress.TotalSteps),
        NodePreviewed e => new(e.Kind, e.Time, e.NodeId, Shape: [e.Preview.Batch, e.Preview.Height, e.Preview.Width], Pixels: e.Preview.ToArray()),
        // Output paths are the worker's; the coordinator lists the committed names in the run record.
        OutputWritten e => new(e.Kind, e.Time, e.NodeId, Text: Path.GetFileName(e.Path)),
        NodeMetric e => new(e.Kind, e.Time, e.NodeId, Text: e.Name, Number: e.Value),
        _ => null,
    };

    /// <summary>The engine event of run <paramref name="runId"/> that <paramref name="wire"/> carries; null for a log line or an unknown kind.</summary>
    public static RunEvent? FromWire(string runId, WireEvent wire) => wire.Kind switch
    {
        "run_started" => new RunStarted(runId, wire.Time, wire.Nodes ?? []),
        "node_started" => new NodeStarted(runId, wire.Time, wire.NodeId ?? "", wire.NodeType ?? ""),
        "node_cached" => new NodeCached(runId, wire.Time, wire.NodeId ?? "", wire.NodeType ?? ""),
        "node_finished" => new NodeFinished(runId, wire.Time, wire.NodeId ?? "", wire.NodeType ?? "", TimeSpan.FromTicks(wire.DurationTicks)),
        "node_failed" => new NodeFailed(runId, wire.Time, wire.NodeId ?? "", wire.NodeType ?? "", wire.Text ?? ""),
        "progress" => new NodeProgressed(runId, wire.Time, wire.NodeId ?? "", new NodeProgress(wire.Number, wire.Text, wire.Step, wire.TotalSteps)),
        "preview" when wire.Shape is [var b, var h, var w] && wire.Pixels is { } pixels && (long)b * h * w * 3 == pixels.Length =>
            new NodePreviewed(runId, wire.Time, wire.NodeId ?? "", new Image(b, h, w, pixels)),
        "output" => new OutputWritten(runId, wire.Time, wire.NodeId ?? "", wire.Text ?? ""),
        "metric" => new NodeMetric(runId, wire.Time, wire.NodeId ?? "", wire.Text ?? "", wire.Number),
        _ => null,
    };
}
