using System.Diagnostics;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Onnx;
using FlowDiffusion.Sdk;
using Xunit;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

// Times runs against the wall clock, so other classes' runs may not take the gate meanwhile.
[Collection(nameof(ProcessWideMeasurements))]
public sealed class CpuRunGateTests : IDisposable
{
    private const int Side = 384;
    private const int Layers = 6;
    private const int RunsPerThread = 10;

    private readonly string _folder = Directory.CreateTempSubdirectory("flowdiffusion-gate-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Cpu_runs_at_the_default_thread_count_take_turns_and_runs_with_their_own_count_overlap()
    {
        var model = Model();
        using var cache = new OnnxSessionCache();

        var (gatedWall, gatedInside, _) = RunTogether(cache, model, OnnxSessionOptions.Cpu);
        // Time inside Run excludes the wait for the gate: taking turns, the two threads' run times fit in the wall time.
        Assert.True(gatedInside <= gatedWall * 1.02, $"gated: {gatedInside:F3} s inside Run within {gatedWall:F3} s");

        // Runs with their own thread count do not take turns: they run to the end while the CPU turn is held elsewhere,
        // and the two threads' runs are inside Run at the same time. (How much they overlap depends on the free cores, so
        // only that they do is checked.)
        var held = CpuTurns.Take(CancellationToken.None);
        try
        {
            var own = Task.Run(() => RunTogether(cache, model, OnnxSessionOptions.Parse("cpu:threads=1")));
            Assert.Same(own, await Task.WhenAny(own, Task.Delay(TimeSpan.FromSeconds(60))));
            Assert.Equal(0, CpuTurns.Waiting);
            Assert.Equal(2, (await own).MostInside);
        }
        finally
        {
            held.Dispose();
        }
    }

    [Fact]
    public void A_run_waiting_for_its_turn_ends_when_its_run_is_cancelled_and_the_next_run_goes_ahead()
    {
        var model = Model();
        using var cache = new OnnxSessionCache();
        var session = new ModelSession(cache, new OnnxModelSource(model), "gate test");
        using var cancel = new CancellationTokenSource();

        var held = CpuTurns.Take(CancellationToken.None);
        Task waiting;
        try
        {
            waiting = Task.Run(() => RunOnce(session, cancel.Token));
            Thread.Sleep(200);
            Assert.False(waiting.IsCompleted);
            cancel.Cancel();
            Assert.Throws<OperationCanceledException>(() => waiting.GetAwaiter().GetResult());
        }
        finally
        {
            held.Dispose();
        }

        Assert.Equal(0, session.RunCount);
        RunOnce(session, CancellationToken.None);
        Assert.Equal(1, session.RunCount);
    }

    [Fact]
    public void The_turn_goes_to_the_oldest_run_waiting_then_to_a_runs_computations_in_the_order_they_asked()
    {
        var turns = new List<string>();
        // Numbered in the order the runs were started, as the engine numbers them: "older" was started first, but its
        // computations ask for a turn after the younger run's.
        var outside = ExecutionContext.Capture()!;
        using var olderRun = RunOrder.Mark(RunOrder.Next());
        var older = ExecutionContext.Capture()!;
        using var youngerRun = RunOrder.Mark(RunOrder.Next());
        var younger = ExecutionContext.Capture()!;

        var held = CpuTurns.Take(CancellationToken.None);
        Thread[] waiting;
        try
        {
            waiting =
            [
                Asking(younger, "younger 1", turns), Asking(younger, "younger 2", turns),
                Asking(outside, "outside", turns),
                Asking(older, "older 1", turns), Asking(older, "older 2", turns),
            ];
            foreach (var (thread, position) in waiting.Select((t, i) => (t, i)))
            {
                thread.Start();
                Assert.True(SpinWait.SpinUntil(() => CpuTurns.Waiting == position + 1, TimeSpan.FromSeconds(10)));
            }
            Assert.Empty(turns);
        }
        finally
        {
            held.Dispose();
        }
        foreach (var thread in waiting) Assert.True(thread.Join(TimeSpan.FromSeconds(10)));

        Assert.Equal(["older 1", "older 2", "younger 1", "younger 2", "outside"], turns);
        Assert.Equal(0, CpuTurns.Waiting);
    }

    [Fact]
    public void A_computation_outside_any_run_goes_ahead_of_runs_started_after_it_asked()
    {
        var turns = new List<string>();
        var outside = ExecutionContext.Capture()!;

        var held = CpuTurns.Take(CancellationToken.None);
        Thread[] waiting;
        try
        {
            var first = Asking(outside, "outside", turns);
            first.Start();
            Assert.True(SpinWait.SpinUntil(() => CpuTurns.Waiting == 1, TimeSpan.FromSeconds(10)));
            // A run started now, while the computation outside any run waits: it is younger.
            using var laterRun = RunOrder.Mark(RunOrder.Next());
            var second = Asking(ExecutionContext.Capture()!, "later run", turns);
            second.Start();
            Assert.True(SpinWait.SpinUntil(() => CpuTurns.Waiting == 2, TimeSpan.FromSeconds(10)));
            waiting = [first, second];
        }
        finally
        {
            held.Dispose();
        }
        foreach (var thread in waiting) Assert.True(thread.Join(TimeSpan.FromSeconds(10)));

        Assert.Equal(["outside", "later run"], turns);
    }

    [Fact]
    public async Task A_run_that_ends_its_turn_while_only_younger_runs_wait_may_take_the_next_within_its_grace()
    {
        using var olderRun = RunOrder.Mark(RunOrder.Next());
        var older = ExecutionContext.Capture()!;
        using var youngerRun = RunOrder.Mark(RunOrder.Next());
        var younger = ExecutionContext.Capture()!;
        var turns = new List<string>();

        var first = await InContext(older, () => CpuTurns.Take(CancellationToken.None));
        var youngerThread = Asking(younger, "younger", turns);
        youngerThread.Start();
        Task<CpuTurns.Turn>? asking = null;
        CpuTurns.Turn again;
        try
        {
            Assert.True(SpinWait.SpinUntil(() => CpuTurns.Waiting == 1, TimeSpan.FromSeconds(10)));

            // Between its steps the older run ends its turn and asks again at once: it goes ahead of the younger run waiting.
            first.Dispose();
            asking = InContext(older, () => CpuTurns.Take(CancellationToken.None));
            again = await asking.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(1, CpuTurns.Waiting);
            Assert.Empty(turns);
        }
        catch
        {
            // A failed assertion must not leave the CPU taken for the tests after this one.
            first.Dispose();
            _ = asking?.ContinueWith(t => t.Result.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
            throw;
        }

        // When it does not come back, the younger run's turn comes once the grace is over.
        var clock = Stopwatch.StartNew();
        again.Dispose();
        Assert.True(youngerThread.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal(["younger"], turns);
        Assert.True(clock.Elapsed >= CpuTurns.Grace - TimeSpan.FromMilliseconds(1), $"the younger run's turn came {clock.Elapsed.TotalMilliseconds:F1} ms after, within the grace");
    }

    [Fact]
    public void Only_cpu_sessions_at_the_default_thread_count_take_turns()
    {
        Assert.True(CpuRunGate.Applies(OnnxSessionOptions.Cpu));
        Assert.True(CpuRunGate.Applies(OnnxSessionOptions.Parse("CPUExecutionProvider:float16=keep")));
        Assert.False(CpuRunGate.Applies(OnnxSessionOptions.Parse("cpu:threads=2")));
        Assert.False(CpuRunGate.Applies(OnnxSessionOptions.Parse("cuda")));
    }

    private static Task<T> InContext<T>(ExecutionContext work, Func<T> take)
    {
        var result = new TaskCompletionSource<T>();
        new Thread(() => ExecutionContext.Run(work, _ => result.SetResult(take()), null)).Start();
        return result.Task;
    }

    // A thread that asks for a turn as work of the run (or of none) that `work` was captured in: it takes a turn,
    // records its name and ends the turn.
    private static Thread Asking(ExecutionContext work, string name, List<string> turns) =>
        new(() => ExecutionContext.Run(work, _ =>
        {
            using var turn = CpuTurns.Take(CancellationToken.None);
            lock (turns) turns.Add(name);
        }, null));

    // Two threads, started together, each running its own session of the model RunsPerThread times: the wall time, the
    // sum of both sessions' time inside Run, and the most calls of Run under way at once.
    private static (double Wall, double Inside, int MostInside) RunTogether(OnnxSessionCache cache, string model, OnnxSessionOptions options)
    {
        var sessions = new[] { Copy(model, "a"), Copy(model, "b") }.Select(path => new ModelSession(cache, new OnnxModelSource(path, options), "gate test")).ToArray();
        foreach (var session in sessions) RunOnce(session, CancellationToken.None);
        var before = sessions.Sum(s => s.RunTime.TotalSeconds);
        var inside = 0;
        var mostInside = 0;
        using var start = new Barrier(sessions.Length);
        var clock = Stopwatch.StartNew();
        var threads = sessions.Select(session => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < RunsPerThread; i++)
            {
                var now = Interlocked.Increment(ref inside);
                InterlockedMax(ref mostInside, now);
                RunOnce(session, CancellationToken.None);
                Interlocked.Decrement(ref inside);
            }
        })).ToArray();
        clock.Restart();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        return (clock.Elapsed.TotalSeconds, sessions.Sum(s => s.RunTime.TotalSeconds) - before, mostInside);
    }

    private static void InterlockedMax(ref int most, int value)
    {
        var seen = Volatile.Read(ref most);
        while (value > seen)
        {
            var was = Interlocked.CompareExchange(ref most, value, seen);
            if (was == seen) return;
            seen = was;
        }
    }

    private static void RunOnce(ModelSession session, CancellationToken cancellationToken)
    {
        var input = new float[Side * Side];
        input.AsSpan().Fill(0.01f);
        using var inputValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(input, [Side, Side]);
        using var results = session.Run(["a"], [inputValue], ["c"], cancellationToken);
    }

    private static string Copy(string model, string name)
    {
        var path = Path.Combine(Path.GetDirectoryName(model)!, name + ".onnx");
        if (!File.Exists(path)) File.Copy(model, path);
        return path;
    }

    // A chain of MatMuls that takes some tens of milliseconds a run.
    private string Model()
    {
        var g = new GraphBuilder("gate");
        var x = g.Input("a", OnnxType.Float, Side, Side);
        var random = new Random(3);
        for (var i = 0; i < Layers; i++)
        {
            var weights = Enumerable.Range(0, Side * Side).Select(_ => (float)((random.NextDouble() - 0.5) / Side)).ToArray();
            x = g.MatMul(x, g.Weight($"w{i}", weights, Side, Side));
        }
        g.Output(x, "c", OnnxType.Float, Side, Side);
        var path = Path.Combine(_folder, "gate.onnx");
        File.WriteAllBytes(path, g.Build("gate").ToBytes());
        return path;
    }
}
