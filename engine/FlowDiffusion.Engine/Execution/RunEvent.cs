using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// One event of a run's stream — the single feed for the CLI progress display, the editor and the API.
/// The hierarchy is closed: these records are all the kinds there are.
/// </summary>
public abstract record RunEvent(string RunId, DateTimeOffset Time)
{
    /// <summary>The event's kind in wire formats (SSE event names, JSON).</summary>
    public abstract string Kind { get; }
}

/// <summary>The run began; <paramref name="Nodes"/> lists the node ids it will execute or serve from cache.</summary>
public sealed record RunStarted(string RunId, DateTimeOffset Time, IReadOnlyList<string> Nodes) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "run_started";
}

/// <summary>The run completed.</summary>
public sealed record RunFinished(string RunId, DateTimeOffset Time, TimeSpan Duration, IReadOnlyList<string> OutputFiles) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "run_finished";
}

/// <summary>The run failed; <paramref name="NodeId"/> names the node that failed, if one did.</summary>
public sealed record RunFailed(string RunId, DateTimeOffset Time, string Error, string? NodeId) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "run_failed";
}

/// <summary>The run was cancelled.</summary>
public sealed record RunCancelled(string RunId, DateTimeOffset Time) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "run_cancelled";
}

/// <summary>A node began executing.</summary>
public sealed record NodeStarted(string RunId, DateTimeOffset Time, string NodeId, string NodeType) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "node_started";
}

/// <summary>A node's outputs came from the cache; it did not execute.</summary>
public sealed record NodeCached(string RunId, DateTimeOffset Time, string NodeId, string NodeType) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "node_cached";
}

/// <summary>A node finished executing.</summary>
public sealed record NodeFinished(string RunId, DateTimeOffset Time, string NodeId, string NodeType, TimeSpan Duration) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "node_finished";
}

/// <summary>A node failed.</summary>
public sealed record NodeFailed(string RunId, DateTimeOffset Time, string NodeId, string NodeType, string Error) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "node_failed";
}

/// <summary>A node reported progress.</summary>
public sealed record NodeProgressed(string RunId, DateTimeOffset Time, string NodeId, NodeProgress Progress) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "progress";
}

/// <summary>A node published a preview image.</summary>
public sealed record NodePreviewed(string RunId, DateTimeOffset Time, string NodeId, Image Preview) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "preview";
}

/// <summary>A node wrote an output file.</summary>
public sealed record OutputWritten(string RunId, DateTimeOffset Time, string NodeId, string Path) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "output";
}

/// <summary>A node added to a named measurement (e.g. time inside ONNX Runtime).</summary>
public sealed record NodeMetric(string RunId, DateTimeOffset Time, string NodeId, string Name, double Value) : RunEvent(RunId, Time)
{
    /// <inheritdoc />
    public override string Kind => "metric";
}
