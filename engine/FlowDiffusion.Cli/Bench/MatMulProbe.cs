using System.Diagnostics;
using FlowDiffusion.Onnx;
using Microsoft.ML.OnnxRuntime;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// The FLOP rate a large ONNX Runtime MatMul reaches with the same session options on this machine: [n, n] × [n, n]
/// float32 with the right operand a constant (so ONNX Runtime pre-packs it, as it does a UNet's weights), run again and
/// again for a window of seconds after a warm-up. The yardstick the UNet step's FLOP rate is held against.
/// </summary>
/// <remarks>
/// One run takes about 50 ms on two cores. The best of five such runs moved between 279 and 397 GFLOP/s from one bench
/// process to the next while the UNet's 5-second steps stayed within ±5 %: a few short runs catch the machine at
/// whatever speed it has for that instant. Timing runs for a whole window gives the best of many (still the rate the
/// MatMul reaches, so the target is not eased) and the sustained rate over the window, comparable to a step's.
/// </remarks>
internal static class MatMulProbe
{
    /// <summary>The matrix side.</summary>
    public const int Side = 2048;

    /// <summary>How long runs are timed for, at the least.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(3);

    /// <summary>The fewest timed runs, however long each takes.</summary>
    public const int MinimumRuns = 5;

    /// <summary>Times the MatMul for <see cref="Window"/> (and at least <see cref="MinimumRuns"/> runs) after one warm-up run.</summary>
    public static MatMulRate Measure(SessionOptions options)
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

        // The first run is a warm-up (the packed weights, the thread pool).
        session.Run(run, ["a"], [inputValue], ["c"], [outputValue]);
        var best = double.MaxValue;
        var runs = 0;
        var window = Stopwatch.StartNew();
        while (runs < MinimumRuns || window.Elapsed < Window)
        {
            var clock = Stopwatch.StartNew();
            session.Run(run, ["a"], [inputValue], ["c"], [outputValue]);
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
            runs++;
        }

        var seconds = window.Elapsed.TotalSeconds;
        return new MatMulRate(Flops / best, Flops * runs / seconds, runs, seconds);
    }

    private static double Flops => 2.0 * Side * Side * Side;
}
