using System.Threading.Channels;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// One subscriber's view of one run on the <see cref="RunEventBus"/>: a bounded queue of messages. When a subscriber
/// falls behind by more than the queue holds, its oldest messages are dropped (never the newest, so the terminal
/// message always arrives) and <see cref="Dropped"/> counts them; a slow client costs a bounded amount of memory.
/// </summary>
public sealed class RunSubscription : IDisposable
{
    private readonly RunEventBus _bus;
    private int _dropped;

    internal RunSubscription(RunEventBus bus, string runId, int capacity)
    {
        _bus = bus;
        RunId = runId;
        Channel = System.Threading.Channels.Channel.CreateBounded<RunMessage>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>The run.</summary>
    public string RunId { get; }

    /// <summary>The messages: run_state first, run_ended last; the reader completes after run_ended.</summary>
    public ChannelReader<RunMessage> Reader => Channel.Reader;

    /// <summary>How many messages were dropped because this subscriber read too slowly.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    internal Channel<RunMessage> Channel { get; }

    // Set under the bus's lock once run_ended was written, so it is written once.
    internal bool Ended { get; set; }

    /// <summary>Leaves the bus.</summary>
    public void Dispose() => _bus.Unsubscribe(this);
}
