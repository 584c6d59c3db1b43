using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace FlowDiffusion.Engine.Execution;

/// <summary>A run in progress: its event stream and its result.</summary>
public sealed class WorkflowRun
{
    private readonly Channel<RunEvent> _events;
    private readonly CancellationTokenSource _cancellation;

    internal WorkflowRun(string id, Channel<RunEvent> events, CancellationTokenSource cancellation)
    {
        Id = id;
        _events = events;
        _cancellation = cancellation;
    }

    /// <summary>The run id.</summary>
    public string Id { get; }

    /// <summary>Completes with the run's result; never faults (failures are a <see cref="RunStatus"/>).</summary>
    public Task<RunResult> Completion { get; internal set; } = null!;

    /// <summary>The run's events in order, ending after the final run event. Read it once.</summary>
    public async IAsyncEnumerable<RunEvent> ReadEventsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var item in _events.Reader.ReadAllAsync(cancellationToken))
            yield return item;
    }

    /// <summary>Asks the run to stop; it ends as <see cref="RunStatus.Cancelled"/>.</summary>
    public void Cancel() => _cancellation.Cancel();
}
