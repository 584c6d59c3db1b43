using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Tests.Execution;

/// <summary>A finished run with every event it published, and per-node counts read from those events.</summary>
internal sealed record RecordedRun(RunResult Result, IReadOnlyList<RunEvent> Events)
{
    /// <summary>Runs <paramref name="plan"/> to the end, reading its event stream; <paramref name="onEvent"/> sees each event as it arrives.</summary>
    public static async Task<RecordedRun> RunAsync(WorkflowExecutor executor, ExecutionPlan plan, RunOptions options, Action<WorkflowRun, RunEvent>? onEvent = null, CancellationToken cancellationToken = default)
    {
        var run = executor.Start(plan, options, collectEvents: true, cancellationToken);
        var events = new List<RunEvent>();
        await foreach (var item in run.ReadEventsAsync())
        {
            events.Add(item);
            onEvent?.Invoke(run, item);
        }
        return new RecordedRun(await run.Completion, events);
    }

    /// <summary>Ids of the nodes that executed (node_started), in event order.</summary>
    public IReadOnlyList<string> Executed => Events.OfType<NodeStarted>().Select(e => e.NodeId).ToList();

    /// <summary>Ids of the nodes served from the cache (node_cached), in event order.</summary>
    public IReadOnlyList<string> Cached => Events.OfType<NodeCached>().Select(e => e.NodeId).ToList();

    /// <summary>The event kinds in order.</summary>
    public IReadOnlyList<string> Kinds => Events.Select(e => e.Kind).ToList();
}
