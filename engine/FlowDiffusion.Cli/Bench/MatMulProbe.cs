using System.Diagnostics;
using FlowDiffusion.Onnx;
using Microsoft.ML.OnnxRuntime;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// The FLOP rate a large ONNX Runtime MatMul reaches with the same session options on this machine: [n, n] × [n, n]
/// float32 with the right operand a constant (so ONNX Runtime pre-packs it, as it does a UNet's weights), best of
/// several runs after a warm-up. The yardstick the UNet step's FLOP rate is held against.
/// </summary>
internal static class MatMulProbe
{
    /// <summary>The matrix side.</summary>
    public const int Side = 2048;

    /// <summary>Floating-point operations per second, best of <paramref name="repeats"/> timed runs.</summary>
    public static double FlopsPerSecond(SessionOptions options, int repeats = 5)
    {
        var g = new GraphBuilder("matmul_probe");
        var a = g.Input("a", OnnxType.Float, Side, Side);
        var weights = new float[Side * Side];
        var random = new Random(1);
        for (var i = 0; i < weights.Length; i++) weights[i] = (float)(random.NextDouble() - 0.5);
        g.Output(g.MatMul(a, g.Weight("b", weights, Side, Side)), "c", OnnxType.Float, Side, Side);
        using var session = new InferenceSession(g.Build("matmul probe").ToBytes(), options);
        var input = new float[Side * Side];
        for (var i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() - 0.5);
        var output = new float[Side * Side];
        using var inputValue = OrtValue.CreateTensorValueFromMemory(input, [Side, Side]);
        using var outputValue = OrtValue.CreateTensorValueFromMemory(output, [Side, Side]);
        using var run = new RunOptions();
        var best = double.MaxValue;
        for (var r = 0; r <= repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            session.Run(run, ["a"], [inputValue], ["c"], [outputValue]);
            // The first run is a warm-up (the packed weights, the thread pool).
            if (r > 0) best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }

        return 2.0 * Side * Side * Side / best;
    }
}
