using System.Threading.Channels;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// One subscriber's view of one run on the <see cref="RunEventBus"/>: a bounded queue of messages. When a subscriber
/// falls behind by more than the queue holds, progress, preview and metric messages are shed first (oldest first), so
/// node, output and log messages survive; only a queue full of those loses its oldest. The terminal message always
/// arrives, <see cref="Dropped"/> counts what was shed, and a slow client costs a bounded amount of memory.
/// </summary>
public sealed class RunSubscription : IDisposable
{
    private readonly RunEventBus _bus;

    internal RunSubscription(RunEventBus bus, string runId, int capacity)
    {
        _bus = bus;
        RunId = runId;
        Queue = new RunMessageQueue(capacity);
    }

    /// <summary>The run.</summary>
    public string RunId { get; }

    /// <summary>The messages: run_state first, run_ended last; the reader completes after run_ended.</summary>
    public ChannelReader<RunMessage> Reader => Queue;

    /// <summary>How many messages were dropped because this subscriber read too slowly.</summary>
    public int Dropped => Queue.Dropped;

    internal RunMessageQueue Queue { get; }

    // Set under the bus's lock once run_ended was written, so it is written once.
    internal bool Ended { get; set; }

    /// <summary>Leaves the bus.</summary>
    public void Dispose() => _bus.Unsubscribe(this);
}
