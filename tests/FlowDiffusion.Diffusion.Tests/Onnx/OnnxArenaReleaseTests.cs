using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Onnx;
using Microsoft.ML.OnnxRuntime;
using Xunit;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

// Reads the process's resident set, so other classes' runs may not move it meanwhile.
[Collection(nameof(ProcessWideMeasurements))]
public sealed class OnnxArenaReleaseTests : IDisposable
{
    // 4096² floats: 64 MiB a tensor, above the sizes glibc serves from its heap, so freed arena memory leaves the process.
    private const int Side = 4096;
    private const long Tensor = (long)Side * Side * sizeof(float);

    private readonly string _folder = Directory.CreateTempSubdirectory("flowdiffusion-arena-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Runs_marked_to_release_hand_their_arenas_free_memory_back_and_others_keep_it()
    {
        if (!File.Exists("/proc/self/status")) return;
        using var cache = new OnnxSessionCache();
        var session = new ModelSession(cache, new OnnxModelSource(Model()), "arena test");
        var input = new float[Side * Side];
        input.AsSpan().Fill(0.5f);

        RunOnce(session, input);
        RunOnce(session, input);
        var kept = ResidentSet.AnonymousBytes();
        RunOnce(session, input);
        var keptAgain = ResidentSet.AnonymousBytes();
        using (OnnxArenaRelease.AfterRuns())
        {
            Assert.True(OnnxArenaRelease.IsRequested);
            RunOnce(session, input);
        }
        var released = ResidentSet.AnonymousBytes();

        Assert.False(OnnxArenaRelease.IsRequested);
        // A run without the mark reuses the arena: the process holds what it held (within one tensor).
        Assert.True(Math.Abs(keptAgain - kept) < Tensor, $"an unmarked run moved the resident set from {kept >> 20} to {keptAgain >> 20} MiB");
        // The marked run's free arena memory went back to the system when it ended: at least one 64 MiB intermediate's
        // region (the output's stays, as the caller holds it; 16 MiB of slack for the rest of the process moving).
        Assert.True(keptAgain - released >= Tensor - (16L << 20), $"after the marked run {released >> 20} MiB, before {keptAgain >> 20} MiB");
    }

    private static void RunOnce(ModelSession session, float[] input)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, [Side, Side]);
        using var results = session.Run(["x"], [value], ["y"], CancellationToken.None);
        Assert.Equal(2.5f, results[0].GetTensorDataAsSpan<float>()[0], 4);
    }

    // y = (x + x) · (x + x) + (x + x) + x … intermediate tensors of 64 MiB each, held by the session's arena.
    private string Model()
    {
        var g = new GraphBuilder("arena");
        var x = g.Input("x", OnnxType.Float, Side, Side);
        var doubled = g.Add(x, x);
        var squared = g.Mul(doubled, doubled);
        var sum = g.Add(squared, doubled);
        var y = g.Add(sum, x);
        g.Output(y, "y", OnnxType.Float, Side, Side);
        var path = Path.Combine(_folder, "arena.onnx");
        File.WriteAllBytes(path, g.Build("arena").ToBytes());
        return path;
    }
}
