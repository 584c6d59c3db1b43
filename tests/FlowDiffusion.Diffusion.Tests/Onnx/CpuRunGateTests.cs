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
    public void Cpu_runs_at_the_default_thread_count_take_turns_and_runs_with_their_own_count_overlap()
    {
        var model = Model();
        using var cache = new OnnxSessionCache();

        var (gatedWall, gatedInside) = RunTogether(cache, model, OnnxSessionOptions.Cpu);
        var (ownWall, ownInside) = RunTogether(cache, model, OnnxSessionOptions.Parse("cpu:threads=1"));

        // Time inside Run excludes the wait for the gate: taking turns, the two threads' run times fit in the wall time.
        Assert.True(gatedInside <= gatedWall * 1.02, $"gated: {gatedInside:F3} s inside Run within {gatedWall:F3} s");
        // Not gated, the two threads' runs overlapped.
        Assert.True(ownInside > ownWall * 1.3, $"threads=1: {ownInside:F3} s inside Run within {ownWall:F3} s");
    }

    [Fact]
    public void A_run_waiting_for_its_turn_ends_when_its_run_is_cancelled_and_the_next_run_goes_ahead()
    {
        var model = Model();
        using var cache = new OnnxSessionCache();
        var session = new ModelSession(cache, new OnnxModelSource(model), "gate test");
        var gate = CpuRunGate.For(OnnxSessionOptions.Cpu)!;
        using var cancel = new CancellationTokenSource();

        gate.Enter(CancellationToken.None);
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
            gate.Exit();
        }

        Assert.Equal(0, session.RunCount);
        RunOnce(session, CancellationToken.None);
        Assert.Equal(1, session.RunCount);
    }

    [Fact]
    public void The_turn_goes_to_the_oldest_job_waiting_then_to_the_runs_of_a_job_in_the_order_they_asked()
    {
        var gate = CpuRunGate.For(OnnxSessionOptions.Cpu)!;
        var turns = new List<string>();
        // Numbered in the order the jobs began, as the engine numbers runs: "older" began first, but its runs ask for the
        // gate after the younger job's.
        var outside = ExecutionContext.Capture()!;
        using var olderJob = RunOrder.Mark(RunOrder.Next());
        var older = ExecutionContext.Capture()!;
        using var youngerJob = RunOrder.Mark(RunOrder.Next());
        var younger = ExecutionContext.Capture()!;

        gate.Enter(CancellationToken.None);
        Thread[] waiting;
        try
        {
            waiting =
            [
                Asking(younger, gate, "younger 1", turns), Asking(younger, gate, "younger 2", turns),
                Asking(outside, gate, "outside", turns),
                Asking(older, gate, "older 1", turns), Asking(older, gate, "older 2", turns),
            ];
            foreach (var (thread, position) in waiting.Select((t, i) => (t, i)))
            {
                thread.Start();
                SpinWait.SpinUntil(() => gate.Queued == position + 1, TimeSpan.FromSeconds(10));
            }
            Assert.Equal(waiting.Length, gate.Queued);
            Assert.Empty(turns);
        }
        finally
        {
            gate.Exit();
        }
        foreach (var thread in waiting) Assert.True(thread.Join(TimeSpan.FromSeconds(10)));

        Assert.Equal(["older 1", "older 2", "younger 1", "younger 2", "outside"], turns);
        Assert.Equal(0, gate.Queued);
    }

    [Fact]
    public void Only_cpu_sessions_at_the_default_thread_count_are_gated_all_by_one_gate()
    {
        Assert.NotNull(CpuRunGate.For(OnnxSessionOptions.Cpu));
        Assert.Same(CpuRunGate.For(OnnxSessionOptions.Cpu), CpuRunGate.For(OnnxSessionOptions.Parse("CPUExecutionProvider:float16=keep")));
        Assert.Null(CpuRunGate.For(OnnxSessionOptions.Parse("cpu:threads=2")));
        Assert.Null(CpuRunGate.For(OnnxSessionOptions.Parse("cuda")));
    }

    // A thread that asks for the gate as work of the job (or of none) that `work` was captured in: it takes a turn,
    // records its name and ends the turn.
    private static Thread Asking(ExecutionContext work, CpuRunGate gate, string name, List<string> turns) =>
        new(() => ExecutionContext.Run(work, _ =>
        {
            gate.Enter(CancellationToken.None);
            lock (turns) turns.Add(name);
            gate.Exit();
        }, null));

    // Two threads, started together, each running its own session of the model RunsPerThread times: the wall time and
    // the sum of both sessions' time inside Run.
    private static (double Wall, double Inside) RunTogether(OnnxSessionCache cache, string model, OnnxSessionOptions options)
    {
        var sessions = new[] { Copy(model, "a"), Copy(model, "b") }.Select(path => new ModelSession(cache, new OnnxModelSource(path, options), "gate test")).ToArray();
        foreach (var session in sessions) RunOnce(session, CancellationToken.None);
        var before = sessions.Sum(s => s.RunTime.TotalSeconds);
        using var start = new Barrier(sessions.Length);
        var clock = Stopwatch.StartNew();
        var threads = sessions.Select(session => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < RunsPerThread; i++) RunOnce(session, CancellationToken.None);
        })).ToArray();
        clock.Restart();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        return (clock.Elapsed.TotalSeconds, sessions.Sum(s => s.RunTime.TotalSeconds) - before);
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
