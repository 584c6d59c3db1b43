using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Onnx;
using Microsoft.ML.OnnxRuntime;
using Xunit;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

// Counts the process's threads, so nothing else may start threads meanwhile.
[Collection(nameof(ProcessWideMeasurements))]
public sealed class OnnxEnvironmentTests
{
    private const int Sessions = 4;

    [Fact]
    public void Sessions_at_the_default_thread_count_share_one_pool_and_threads_N_gives_a_session_its_own()
    {
        var model = MatMulModel();
        Assert.Equal(CpuCores.ForThisProcess, OnnxEnvironment.SharedIntraOpThreads);
        Assert.True(OnnxSessionOptions.Cpu.SharesThreadPool);
        Assert.False(OnnxSessionOptions.Parse("cpu:threads=3").SharesThreadPool);

        // Warm the shared pool and the runtime's own threads, so later counts only see new pools.
        RunAll(Open(model, OnnxSessionOptions.Cpu, 1));
        var before = ThreadCount();
        var shared = Open(model, OnnxSessionOptions.Cpu, Sessions);
        RunAll(shared);
        var afterShared = ThreadCount();
        var own = Open(model, OnnxSessionOptions.Parse("cpu:threads=3"), Sessions);
        RunAll(own);
        var afterOwn = ThreadCount();
        foreach (var session in shared.Concat(own)) session.Dispose();

        // ONNX Runtime gives a pool of N threads N − 1 workers (the caller is the Nth): 2 per session here.
        Assert.InRange(afterOwn - afterShared, 2 * Sessions - 1, 2 * Sessions + 2);
        Assert.InRange(afterShared - before, -2, 1);
    }

    [Fact]
    public void Sessions_on_the_shared_pool_give_the_same_results_as_sessions_with_their_own()
    {
        var model = MatMulModel();
        using var shared = Open(model, OnnxSessionOptions.Cpu, 1)[0];
        using var own = Open(model, OnnxSessionOptions.Parse("cpu:threads=2"), 1)[0];

        var input = Input();
        Assert.Equal(Run(own, input), Run(shared, input));
        // Run at the same time on one pool, each still gets its own answer.
        var inputs = Enumerable.Range(0, 4).Select(i => input.Select(v => v * (i + 1)).ToArray()).ToArray();
        var together = inputs.AsParallel().WithDegreeOfParallelism(4).Select(x => Run(shared, x)).ToArray();
        for (var i = 0; i < inputs.Length; i++) Assert.Equal(Run(own, inputs[i]), together[i]);
    }

    private const int Side = 256;

    private static byte[] MatMulModel()
    {
        var g = new GraphBuilder("shared_pool");
        var a = g.Input("a", OnnxType.Float, Side, Side);
        var random = new Random(7);
        var weights = Enumerable.Range(0, Side * Side).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        g.Output(g.MatMul(a, g.Weight("b", weights, Side, Side)), "c", OnnxType.Float, Side, Side);
        return g.Build("shared pool").ToBytes();
    }

    private static float[] Input()
    {
        var random = new Random(8);
        return Enumerable.Range(0, Side * Side).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
    }

    private static List<InferenceSession> Open(byte[] model, OnnxSessionOptions settings, int count)
    {
        using var options = settings.CreateSessionOptions();
        return Enumerable.Range(0, count).Select(_ => new InferenceSession(model, options)).ToList();
    }

    private static void RunAll(List<InferenceSession> sessions)
    {
        var input = Input();
        foreach (var session in sessions) Run(session, input);
    }

    private static float[] Run(InferenceSession session, float[] input)
    {
        var output = new float[Side * Side];
        using var inputValue = OrtValue.CreateTensorValueFromMemory(input, [Side, Side]);
        using var outputValue = OrtValue.CreateTensorValueFromMemory(output, [Side, Side]);
        using var run = new RunOptions();
        session.Run(run, ["a"], [inputValue], ["c"], [outputValue]);
        return output;
    }

    private static int ThreadCount() => Directory.GetDirectories("/proc/self/task").Length;
}
