using System.Text.Json;
using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Server.Runs;

/// <summary>One run on the <see cref="RunEventBus"/>: its subscribers and what its events add up to. Used under the bus's lock.</summary>
internal sealed class RunTopic(string runId)
{
    private readonly Dictionary<string, NodeSnapshot> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodePreviewed> _previews = new(StringComparer.Ordinal);
    private readonly List<OutputWritten> _outputs = [];
    private RunProgress _progress = new();
    private long _sequence;
    private int _attempt;

    public List<RunSubscription> Subscribers { get; } = [];

    /// <summary>The number of the attempt last begun.</summary>
    public int Attempt => _attempt;

    /// <summary>Whether an attempt is executing (events flow).</summary>
    public bool Started { get; private set; }

    public void Start(int attempt)
    {
        Started = true;
        _attempt = attempt;
        _nodes.Clear();
        _previews.Clear();
        _outputs.Clear();
        _progress = new RunProgress();
    }

    public void Requeue()
    {
        Started = false;
        _nodes.Clear();
        _previews.Clear();
        _outputs.Clear();
        _progress = new RunProgress();
    }

    /// <summary>Folds an event into the state and returns its message.</summary>
    public RunMessage Apply(RunEvent item)
    {
        _progress.Observe(item);
        switch (item)
        {
            case RunStarted e:
                foreach (var node in e.Nodes) _nodes.TryAdd(node, new NodeSnapshot("queued"));
                break;
            case NodeStarted e:
                _nodes[e.NodeId] = new NodeSnapshot("running");
                break;
            case NodeCached e:
                _nodes[e.NodeId] = new NodeSnapshot("cached");
                break;
            case NodeFinished e:
                _nodes[e.NodeId] = (_nodes.GetValueOrDefault(e.NodeId) ?? new NodeSnapshot("running")) with
                {
                    State = "finished", DurationMs = Math.Round(e.Duration.TotalMilliseconds, 3),
                };
                break;
            case NodeFailed e:
                _nodes[e.NodeId] = (_nodes.GetValueOrDefault(e.NodeId) ?? new NodeSnapshot("running")) with { State = "failed", Error = e.Error };
                break;
            case NodeProgressed e:
                _nodes[e.NodeId] = (_nodes.GetValueOrDefault(e.NodeId) ?? new NodeSnapshot("running")) with
                {
                    Step = e.Progress.Step, TotalSteps = e.Progress.TotalSteps,
                };
                break;
            case NodePreviewed e:
                _previews[e.NodeId] = e;
                break;
            case OutputWritten e:
                _outputs.Add(e);
                break;
        }
        return new RunMessage(runId, ++_sequence, item.Kind, item.Time, _progress.Overall, _progress.EtaSeconds) { Event = item };
    }

    public RunMessage LogMessage(string text) =>
        new(runId, ++_sequence, RunMessage.LogKind, DateTimeOffset.UtcNow, _progress.Overall, _progress.EtaSeconds) { Text = text };

    public RunMessage StateMessage() =>
        new(runId, _sequence, RunMessage.StateKind, DateTimeOffset.UtcNow, _progress.Overall, _progress.EtaSeconds)
        {
            State = new RunSnapshot(Started ? RunState.Running : RunState.Queued, _attempt,
                new Dictionary<string, NodeSnapshot>(_nodes, StringComparer.Ordinal),
                new Dictionary<string, NodePreviewed>(_previews, StringComparer.Ordinal), [.. _outputs]),
        };

    public void Send(RunMessage message)
    {
        foreach (var subscription in Subscribers) subscription.Queue.TryWrite(message);
    }

    /// <summary>The state of a run this process is not executing, from its stored record.</summary>
    public static RunMessage StateOf(RunRecord record)
    {
        var nodes = new Dictionary<string, NodeSnapshot>(StringComparer.Ordinal);
        foreach (var timing in NodeTimingJson.Parse(record.NodesJson))
            nodes[timing.NodeId] = timing.Cached ? new NodeSnapshot("cached") : new NodeSnapshot("finished", DurationMs: Math.Round(timing.Duration.TotalMilliseconds, 3));
        var progress = record.Status == RunState.Completed ? 1 : 0;
        return new RunMessage(record.Id, 0, RunMessage.StateKind, DateTimeOffset.UtcNow, progress, null)
        {
            State = new RunSnapshot(record.Status, record.Attempts, nodes, new Dictionary<string, NodePreviewed>(), []),
        };
    }

    /// <summary>The terminal message: the stored record says everything, so every subscriber gets the same one.</summary>
    public static RunMessage EndedOf(RunRecord record) =>
        new(record.Id, 0, RunMessage.EndedKind, record.Finished ?? DateTimeOffset.UtcNow, record.Status == RunState.Completed ? 1 : 0, null) { Record = record };
}
