using System.Runtime.CompilerServices;
using FlowDiffusion.Sdk;
using Turns = System.Tuple<
    System.Collections.Generic.PriorityQueue<System.Threading.Tasks.TaskCompletionSource, (long Run, long Ticket)>,
    System.Runtime.CompilerServices.StrongBox<long>,
    System.Runtime.CompilerServices.StrongBox<bool>>;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Lets one CPU session run at a time among those at the default thread count (one thread per physical core, in a pool of
/// each session's own or the shared one), so that runs which would overlap — the prompt encodes of a run, the steps of
/// concurrent jobs — take turns with every core instead of sharing the cores among more busy threads than there are.
/// CPU-bound runs on the same cores gain nothing from overlapping: two 256² txt2img jobs at once in one server finished
/// 3 s (first) and 1 s (second) sooner taking turns (docs/benchmarks.md). The turn goes to the oldest job waiting
/// (<see cref="RunOrder"/>; work outside any job after the jobs, in the order it asked), so of two jobs at once the first
/// finishes about as soon as it would alone instead of the two interleaving step by step. Sessions given their own thread
/// count (<c>threads=N</c>), a default count below the cores (<see cref="OnnxEnvironment.ThreadsVariable"/>: runs then
/// have cores to overlap on) and GPU sessions are not gated; <see cref="Variable"/> <c>=parallel</c> turns the gate off.
/// </summary>
/// <remarks>
/// Plugins load their own copy of this assembly, so the gate's state is <see cref="ProcessWide"/> and made of the
/// runtime's types only, which every copy shares. Two copies creating it at the same first moment could each hand out
/// their own for a while; that costs only the overlap the gate prevents, and every run releases the gate it took.
/// </remarks>
internal sealed class CpuRunGate
{
    /// <summary>The environment variable that turns the gate off (<c>parallel</c>).</summary>
    public const string Variable = "FLOWDIFFUSION_CPU_RUNS";

    private const string Key = "FlowDiffusion.OnnxRuntime.CpuRunTurns";
    private static readonly Lazy<bool> Enabled = new(() =>
        !string.Equals(Environment.GetEnvironmentVariable(Variable)?.Trim(), "parallel", StringComparison.OrdinalIgnoreCase));

    private static readonly Lazy<CpuRunGate> Shared = new(() =>
        new CpuRunGate(ProcessWide.GetOrCreate(Key, () => new Turns(new(), new StrongBox<long>(), new StrongBox<bool>()))));

    // The runs waiting, oldest job first and then in the order they asked; the next ticket; whether a run holds the gate.
    private readonly Turns _turns;

    private CpuRunGate(Turns turns) => _turns = turns;

    private PriorityQueue<TaskCompletionSource, (long Run, long Ticket)> Waiting => _turns.Item1;

    /// <summary>The gate a run with <paramref name="options"/> takes, or null when such runs are not gated.</summary>
    /// <param name="options">The session's options.</param>
    public static CpuRunGate? For(OnnxSessionOptions options) =>
        Enabled.Value && options.IntraOpThreads == 0 && options.Threads >= CpuCores.ForThisProcess
        && string.Equals(ExecutionProviders.Normalize(options.Provider), ExecutionProviders.Normalize("cpu"), StringComparison.Ordinal)
            ? Shared.Value
            : null;

    /// <summary>How many runs wait for their turn (cancelled ones included until a turn passes them).</summary>
    public int Queued
    {
        get
        {
            lock (Waiting) return Waiting.Count;
        }
    }

    /// <summary>
    /// Waits for this run's turn: at once when no run holds the gate, else after every run of an older job, and every run
    /// of the same job that asked before, has had its turn. <see cref="Exit"/> ends the turn.
    /// </summary>
    /// <param name="cancellationToken">Stops the wait; the run then has no turn to end.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled before the turn came.</exception>
    public void Enter(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        TaskCompletionSource turn;
        lock (Waiting)
        {
            if (!_turns.Item3.Value)
            {
                _turns.Item3.Value = true;
                return;
            }
            turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Waiting.Enqueue(turn, (RunOrder.Current ?? long.MaxValue, _turns.Item2.Value++));
        }
        try
        {
            turn.Task.Wait(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            lock (Waiting)
            {
                // Still waiting: Exit skips a cancelled turn.
                if (turn.TrySetCanceled()) throw;
            }
            // The turn came as the wait was cancelled: pass it on.
            Exit();
            throw;
        }
    }

    /// <summary>Ends the turn <see cref="Enter"/> gave, handing it to the next run waiting.</summary>
    public void Exit()
    {
        lock (Waiting)
        {
            while (Waiting.TryDequeue(out var next, out _))
            {
                if (next.TrySetResult()) return;
            }
            _turns.Item3.Value = false;
        }
    }
}
