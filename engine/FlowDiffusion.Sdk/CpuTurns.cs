using System.Diagnostics;

namespace FlowDiffusion.Sdk;

/// <summary>
/// Turns on the CPU for computations that each keep every core busy (an inference session at its default thread count):
/// one at a time in the process, so that computations which would overlap — two prompt encodes, the steps of two runs
/// at once — each get all the cores instead of sharing them among more busy threads than there are. The turn goes to
/// the oldest run waiting (<see cref="RunOrder"/>; a computation outside any run counts as a run started when it asks,
/// so a stream of runs cannot hold it back for ever), in the order its computations asked. A run that ends a turn while only younger runs wait keeps the CPU for <see cref="Grace"/>, the
/// host work between its steps, so of two runs at once the older finishes about as soon as it would alone instead of the
/// two alternating step by step. Plugins wrap each such computation in <see cref="Take"/>; computations that use a few
/// cores, or a GPU, should not.
/// </summary>
public static class CpuTurns
{
    /// <summary>How long a run that ended its turn may take the next one ahead of younger runs waiting.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan GraceCheck = TimeSpan.FromMilliseconds(10);

    private static readonly Lock Gate = new();
    // Waiting computations: the oldest run first, then the order they asked.
    private static readonly PriorityQueue<TaskCompletionSource, (long Run, long Ticket)> Queue = new();
    private static long _tickets;
    private static bool _held;
    // While a run's grace lasts: the run, and when the grace ends. The computations waiting end it: they look every
    // GraceCheck, so it ends on time without a timer, which would need a free thread-pool thread while they block theirs.
    private static long? _graceFor;
    private static long _graceEnds;

    /// <summary>How many computations wait for a turn (cancelled ones included until a turn passes them).</summary>
    public static int Waiting
    {
        get
        {
            lock (Gate) return Queue.Count;
        }
    }

    /// <summary>
    /// Waits for a turn for the current run's computation: at once when the CPU is free (or within the grace of this run or
    /// a younger one); otherwise after every waiting computation of older runs, and those of this run that asked before.
    /// </summary>
    /// <param name="cancellationToken">Stops the wait; there is then no turn to end.</param>
    /// <returns>The turn; disposing it ends the turn.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before the turn came.</exception>
    public static Turn Take(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var run = RunOrder.Current ?? RunOrder.Next();
        TaskCompletionSource waiting;
        lock (Gate)
        {
            if (!_held && (_graceFor is not { } graced || run <= graced))
            {
                _held = true;
                _graceFor = null;
                return new Turn(run);
            }
            waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Queue.Enqueue(waiting, (run, _tickets++));
        }
        try
        {
            while (!waiting.Task.Wait(GraceCheck, cancellationToken))
            {
                EndGraceIfOver();
            }
        }
        catch (OperationCanceledException)
        {
            lock (Gate)
            {
                // Still waiting: handing over skips a cancelled computation.
                if (waiting.TrySetCanceled()) throw;
            }
            // The turn came as the wait was cancelled: pass it on.
            End(run);
            throw;
        }
        return new Turn(run);
    }

    private static void End(long run)
    {
        lock (Gate)
        {
            _held = false;
            while (Queue.TryPeek(out var next, out var priority))
            {
                if (next.Task.IsCompleted)
                {
                    Queue.Dequeue();
                    continue;
                }
                if (priority.Run > run)
                {
                    // Only younger runs wait: the run that just ended its turn may come back for the next within its grace.
                    _graceFor = run;
                    _graceEnds = Stopwatch.GetTimestamp() + (long)(Grace.TotalSeconds * Stopwatch.Frequency);
                    return;
                }
                HandOver();
                return;
            }
        }
    }

    private static void EndGraceIfOver()
    {
        lock (Gate)
        {
            if (_held || _graceFor is null || Stopwatch.GetTimestamp() < _graceEnds) return;
            _graceFor = null;
            HandOver();
        }
    }

    // Gives the turn to the first computation still waiting, if any. Called under the lock with the CPU free.
    private static void HandOver()
    {
        while (Queue.TryDequeue(out var next, out _))
        {
            if (next.TrySetResult())
            {
                _held = true;
                return;
            }
        }
    }

    /// <summary>A turn on the CPU; disposing it ends the turn and hands the CPU to the next computation.</summary>
    public sealed class Turn : IDisposable
    {
        private readonly long _run;
        private int _ended;

        internal Turn(long run) => _run = run;

        /// <summary>Ends the turn; disposing it again does nothing.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0) End(_run);
        }
    }
}
