using FlowDiffusion.Cli.Bench;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using Xunit;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Diffusion.Tests.Bench;

/// <summary>
/// The bench's FLOP counter (<c>flowdiffusion bench</c>'s <c>unet_step_flops</c>, linked here from the CLI) read from a
/// real ONNX Runtime profile of a small graph whose work is known in closed form: a convolution fused with its
/// activation, a batched MatMul, a Gemm with a transposed first operand and a Transpose + MatMul that ONNX Runtime fuses
/// into one kernel with a transposed operand. A counter that took the first operand's last axis as the inner dimension,
/// missed fused kernels or counted per-session instead of per-run would miss the total.
/// </summary>
public sealed class OrtProfileFlopsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fd-flops-").FullName;

    [Fact]
    public void Profile_of_a_small_graph_counts_conv_matmul_and_gemm_work_in_closed_form_per_run()
    {
        // Conv 16→16, 3×3, pad 1 on 1×16×10×12: 2·(16·10·12)·(16·3·3).
        const double conv = 2.0 * (16 * 10 * 12) * (16 * 3 * 3);
        // [2, 3, 5, 12] · [12, 7]: 2·(2·3·5·7)·12.
        const double matmul = 2.0 * (2 * 3 * 5 * 7) * 12;
        // Gemm transA: A [K = 12, M = 6] · B [12, 4]: 2·(6·4)·12 (the first operand's last axis would give 6).
        const double gemm = 2.0 * (6 * 4) * 12;
        // Transpose([2, 9, 5]) · [9, 3]: 2·(2·5·3)·9 (the untransposed last axis would give 5).
        const double transposed = 2.0 * (2 * 5 * 3) * 9;

        var path = WriteModel();
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            EnableProfiling = true,
            ProfileOutputPathPrefix = Path.Combine(_folder, "profile"),
        };
        using var session = new InferenceSession(path, options);
        for (var run = 0; run < 3; run++)
        {
            using var x = OrtValue.CreateTensorValueFromMemory(Ramp(16 * 10 * 12), [1, 16, 10, 12]);
            using var a = OrtValue.CreateTensorValueFromMemory(Ramp(2 * 3 * 5 * 12), [2, 3, 5, 12]);
            using var g = OrtValue.CreateTensorValueFromMemory(Ramp(12 * 6), [12, 6]);
            using var t = OrtValue.CreateTensorValueFromMemory(Ramp(2 * 9 * 5), [2, 9, 5]);
            using var outputs = session.Run(new RunOptions(), ["x", "a", "g", "t"], [x, a, g, t], ["conv", "matmul", "gemm", "transposed"]);
            Assert.Equal(4, outputs.Count);
        }

        var (flops, runs) = OrtProfileFlops.Read(session.EndProfiling());

        Assert.Equal(3, runs);
        Assert.Equal(conv + matmul + gemm + transposed, flops, 6);
    }

    [Theory]
    [InlineData("MatMul", new long[] { 4, 3 }, new long[] { 3, 5 }, new long[] { 4, 5 }, 2.0 * 20 * 3)]
    [InlineData("FusedMatMul", new long[] { 2, 3, 4 }, new long[] { 3, 5 }, new long[] { 2, 4, 5 }, 2.0 * 40 * 3)]
    [InlineData("Gemm", new long[] { 7, 2 }, new long[] { 5, 7 }, new long[] { 2, 5 }, 2.0 * 10 * 7)]
    [InlineData("FusedConv", new long[] { 1, 3, 6, 6 }, new long[] { 8, 3, 3, 3 }, new long[] { 1, 8, 4, 4 }, 2.0 * 128 * 27)]
    [InlineData("Softmax", new long[] { 2, 8 }, new long[] { 2, 8 }, new long[] { 2, 8 }, 0.0)]
    public void Kernel_work_follows_the_operand_shapes(string op, long[] first, long[] second, long[] output, double expected) =>
        Assert.Equal(expected, OrtProfileFlops.Operation(op, [first, second], output));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static float[] Ramp(int length) => [.. Enumerable.Range(0, length).Select(i => ((i % 13) - 6) * 0.05f)];

    private string WriteModel()
    {
        var g = new GraphBuilder("flops");
        var x = g.Input("x", OnnxType.Float, 1, 16, 10, 12);
        var a = g.Input("a", OnnxType.Float, 2, 3, 5, 12);
        var gemmA = g.Input("g", OnnxType.Float, 12, 6);
        var t = g.Input("t", OnnxType.Float, 2, 9, 5);
        var conv = g.Node("Relu", [g.Conv(x, g.Weight("conv_w", Ramp(16 * 16 * 9), 16, 16, 3, 3), g.Weight("conv_b", Ramp(16), 16), 3, pad: 1)]);
        var matmul = g.MatMul(a, g.Weight("matmul_w", Ramp(12 * 7), 12, 7));
        var gemm = g.Node("Gemm", [gemmA, g.Weight("gemm_w", Ramp(12 * 4), 12, 4)], OnnxAttribute.Int("transA", 1));
        var transposed = g.MatMul(g.Transpose(t, 0, 2, 1), g.Weight("transposed_w", Ramp(9 * 3), 9, 3));
        g.Output(conv, "conv", OnnxType.Float, 1, 16, 10, 12);
        g.Output(matmul, "matmul", OnnxType.Float, 2, 3, 5, 7);
        g.Output(gemm, "gemm", OnnxType.Float, 6, 4);
        g.Output(transposed, "transposed", OnnxType.Float, 2, 5, 3);
        var path = Path.Combine(_folder, "flops.onnx");
        File.WriteAllBytes(path, g.Build("flops").ToBytes());
        return path;
    }
}
