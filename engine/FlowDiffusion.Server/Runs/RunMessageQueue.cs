using System.Threading.Channels;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// One subscriber's bounded queue of run messages. When it is full, the next message first pushes out the oldest
/// <em>sheddable</em> message (progress, preview, metric: each superseded by a later one or by run_state/run_ended), so
/// node, output, log and terminal messages survive a slow reader; only a queue full of those loses its oldest message.
/// It never holds more than its capacity. One writer at a time (the bus writes under its lock), one reader.
/// </summary>
internal sealed class RunMessageQueue(int capacity) : ChannelReader<RunMessage>
{
    private readonly Lock _gate = new();
    private readonly LinkedList<RunMessage> _items = new();
    // The sheddable nodes of _items, in the same order: reading the head of _items that is sheddable reads this head.
    private readonly Queue<LinkedListNode<RunMessage>> _sheddable = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<bool>? _waiter;
    private bool _writingDone;
    private int _dropped;

    /// <summary>How many messages were pushed out because the reader fell behind.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>Whether a message of <paramref name="kind"/> may be shed for a slower reader.</summary>
    public static bool IsSheddable(string kind) => kind is "progress" or "preview" or "metric";

    /// <summary>Queues <paramref name="message"/>, shedding as the type says when full; false once writing is done.</summary>
    public bool TryWrite(RunMessage message)
    {
        TaskCompletionSource<bool>? wake;
        lock (_gate)
        {
            if (_writingDone) return false;
            var sheddable = IsSheddable(message.Kind);
            if (_items.Count >= capacity)
            {
                if (_sheddable.TryDequeue(out var oldest)) _items.Remove(oldest);
                else if (sheddable)
                {
                    // Nothing older may go for it: the new progress/preview is the one that yields.
                    _dropped++;
                    return true;
                }
                else _items.RemoveFirst();
                _dropped++;
            }
            var node = _items.AddLast(message);
            if (sheddable) _sheddable.Enqueue(node);
            wake = _waiter;
            _waiter = null;
        }
        wake?.TrySetResult(true);
        return true;
    }

    /// <summary>No more messages will come; the reader completes once it has read what is queued.</summary>
    public bool TryComplete()
    {
        TaskCompletionSource<bool>? wake;
        lock (_gate)
        {
            if (_writingDone) return false;
            _writingDone = true;
            wake = _waiter;
            _waiter = null;
            if (_items.Count == 0) _completion.TrySetResult();
        }
        wake?.TrySetResult(false);
        return true;
    }

    /// <inheritdoc/>
    public override Task Completion => _completion.Task;

    /// <inheritdoc/>
    public override bool CanCount => true;

    /// <inheritdoc/>
    public override int Count
    {
        get
        {
            lock (_gate) return _items.Count;
        }
    }

    /// <inheritdoc/>
    public override bool CanPeek => true;

    /// <inheritdoc/>
    public override bool TryPeek(out RunMessage item)
    {
        lock (_gate)
        {
            item = _items.First?.Value!;
            return _items.Count > 0;
        }
    }

    /// <inheritdoc/>
    public override bool TryRead(out RunMessage item)
    {
        lock (_gate)
        {
            var first = _items.First;
            if (first is null)
            {
                item = null!;
                return false;
            }
            _items.RemoveFirst();
            if (_sheddable.TryPeek(out var head) && ReferenceEquals(head, first)) _sheddable.Dequeue();
            if (_writingDone && _items.Count == 0) _completion.TrySetResult();
            item = first.Value;
            return true;
        }
    }

    /// <inheritdoc/>
    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<bool>(cancellationToken);
        Task<bool> wait;
        lock (_gate)
        {
            if (_items.Count > 0) return ValueTask.FromResult(true);
            if (_writingDone) return ValueTask.FromResult(false);
            _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _waiter.Task;
        }
        return new ValueTask<bool>(wait.WaitAsync(cancellationToken));
    }
}
