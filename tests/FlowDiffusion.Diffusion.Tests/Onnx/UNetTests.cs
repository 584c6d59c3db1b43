using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.ModelGenerator;
using FlowDiffusion.ModelGenerator.Analytic;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

public sealed class UNetTests(AnalyticModels models) : IClassFixture<AnalyticModels>, IDisposable
{
    internal static readonly LatentShape Shape = new(2, 4, 8, 8);
    private static readonly float[] Sigmas = TrainingSigmas.Compute();
    private readonly OnnxSessionCache _cache = new();

    // Batch item 0 is conditioned on red, item 1 on blue (the analytic text encoder's embeddings).
    private static readonly float[][] Colours = [[1f, 0f, 0f], [0f, 0f, 1f]];

    public static TheoryData<TimestepInput, bool> Exports => new()
    {
        { TimestepInput.Int64Vector, false },
        { TimestepInput.Float32Vector, false },
        { TimestepInput.Float16Vector, true },
        { TimestepInput.Float32Scalar, false },
        { TimestepInput.Float32Vector, true },
    };

    [Theory]
    [MemberData(nameof(Exports))]
    public void Every_timestep_binding_predicts_the_closed_form_noise(TimestepInput timestep, bool float16)
    {
        using var unet = Open(new AnalyticVariant(timestep, float16));

        var prediction = unet.Predict(Sample(), Shape, [500f, 500f], HiddenStates(), 77);

        var expected = ClosedForm([500f, 500f]);
        var tolerance = float16 ? 2e-3 : 2e-5;
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(prediction[i] - expected[i]) <= tolerance * (1 + Math.Abs(expected[i])),
                $"element {i}: {prediction[i]} vs {expected[i]} ({timestep}, fp16 {float16})");
        }
    }

    [Theory]
    [MemberData(nameof(Exports))]
    public void Declared_types_are_reported_as_the_export_declares_them(TimestepInput timestep, bool float16)
    {
        using var unet = Open(new AnalyticVariant(timestep, float16));

        var expectedTimestep = timestep switch
        {
            TimestepInput.Int64Vector => TensorElementType.Int64,
            TimestepInput.Float16Vector => TensorElementType.Float16,
            _ => TensorElementType.Float,
        };
        Assert.Equal(expectedTimestep, unet.TimestepType);
        Assert.Equal(timestep == TimestepInput.Float32Scalar, unet.TimestepIsScalar);
        Assert.Equal(float16 ? TensorElementType.Float16 : TensorElementType.Float, unet.SampleType);
    }

    [Theory]
    [InlineData(TimestepInput.Int64Vector, false)]
    [InlineData(TimestepInput.Float32Vector, false)]
    [InlineData(TimestepInput.Float16Vector, true)]
    public void Vector_timestep_exports_take_one_timestep_per_batch_item(TimestepInput timestep, bool float16)
    {
        using var unet = Open(new AnalyticVariant(timestep, float16));

        var prediction = unet.Predict(Sample(), Shape, [999f, 250f], HiddenStates(), 77);

        var expected = ClosedForm([999f, 250f]);
        var tolerance = float16 ? 2e-3 : 2e-5;
        Assert.All(Enumerable.Range(0, expected.Length), i =>
            Assert.True(Math.Abs(prediction[i] - expected[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"element {i}"));
    }

    [Fact]
    public void Int64_export_truncates_fractional_timesteps_like_diffusers_numpy_cast()
    {
        using var int64 = Open(new AnalyticVariant(TimestepInput.Int64Vector));
        using var float32 = Open(AnalyticVariant.Default);

        var truncated = int64.Predict(Sample(), Shape, [500.75f], HiddenStates(), 77);

        Assert.Equal(float32.Predict(Sample(), Shape, [500f], HiddenStates(), 77), truncated);
        Assert.NotEqual(float32.Predict(Sample(), Shape, [500.75f], HiddenStates(), 77), truncated);
    }

    [Fact]
    public void Scalar_timestep_export_refuses_different_timesteps_in_one_batch()
    {
        using var unet = Open(new AnalyticVariant(TimestepInput.Float32Scalar));

        var error = Assert.Throws<ModelMismatchException>(() => unet.Predict(Sample(), Shape, [999f, 250f], HiddenStates(), 77));

        Assert.Contains("timestep float32 []", error.Message);
        Assert.Contains(unet.ModelPath, error.Message);
    }

    [Fact]
    public void Inpainting_unet_reports_nine_input_channels()
    {
        using var plain = Open(AnalyticVariant.Default);
        using var inpaint = Open(AnalyticVariant.Inpaint);

        Assert.Equal(4, plain.InChannels);
        Assert.Equal(9, inpaint.InChannels);
        Assert.Equal(4, inpaint.OutChannels);
    }

    [Fact]
    public void Steps_of_one_shape_reuse_buffers_and_add_up_run_time()
    {
        using var unet = Open(AnalyticVariant.Default);
        var prediction = new float[Shape.Length];

        for (var step = 0; step < 3; step++)
        {
            unet.Predict(Sample(), Shape, [999f - 300 * step], HiddenStates(), 77, prediction);
        }

        Assert.Equal(1, unet.BufferAllocations);
        Assert.Equal(3, unet.RunCount);
        Assert.True(unet.RunTime > TimeSpan.Zero);
        Assert.Equal(ClosedForm([399f, 399f]), prediction.Select(v => (double)v), new Tolerance(2e-5));

        var single = Shape.WithBatch(1);
        unet.Predict(Sample().AsSpan(0, single.Length), single, [10f], HiddenStates().AsSpan(0, 77 * 4), 77);
        Assert.Equal(2, unet.BufferAllocations);
    }

    [Fact]
    public void Cancelled_token_stops_before_running()
    {
        using var unet = Open(AnalyticVariant.Default);

        Assert.Throws<OperationCanceledException>(() =>
            unet.Predict(Sample(), Shape, [999f], HiddenStates(), 77, new CancellationToken(canceled: true)));
        Assert.Equal(0, unet.RunCount);
    }

    [Fact]
    public void Opening_a_text_encoder_as_unet_names_the_file_the_input_and_the_declaration()
    {
        var textEncoder = Path.Combine(models.Default, "text_encoder", "model.onnx");

        var error = Assert.Throws<ModelMismatchException>(() => UNet.Open(_cache, textEncoder));

        Assert.Equal(textEncoder, error.ModelPath);
        Assert.Contains(textEncoder, error.Message);
        Assert.Contains("'sample'", error.Message);
        Assert.Contains("input_ids int32 [batch, sequence]", error.Message);
    }

    public void Dispose() => _cache.Dispose();

    private UNet Open(AnalyticVariant variant) => UNet.Open(_cache, Path.Combine(models.Folder(variant), "unet", "model.onnx"));

    internal static float[] Sample() => Enumerable.Range(0, Shape.Length).Select(i => MathF.Sin(i * 0.37f)).ToArray();

    internal static float[] HiddenStates()
    {
        var states = new float[Shape.Batch * 77 * 4];
        for (var b = 0; b < Shape.Batch; b++)
        {
            var row = states.AsSpan((b * 77 + 1) * 4, 4);
            Colours[b].CopyTo(row);
            row[3] = 1f;
        }
        return states;
    }

    // ε = (x·√(1+σ²) − x0)/σ with x0 = 0.18215·M·(2c − 1), the analytic UNet's definition.
    internal static double[] ClosedForm(float[] timesteps)
    {
        var sample = Sample();
        var expected = new double[Shape.Length];
        var plane = Shape.Height * Shape.Width;
        for (var b = 0; b < Shape.Batch; b++)
        {
            double sigma = Sigmas[(int)timesteps[b]];
            for (var k = 0; k < 4; k++)
            {
                var x0 = 0.18215 * Enumerable.Range(0, 3).Sum(c => LatentBasis.M[k, c] * (2.0 * Colours[b][c] - 1.0));
                for (var p = 0; p < plane; p++)
                {
                    var i = (b * 4 + k) * plane + p;
                    expected[i] = (sample[i] * Math.Sqrt(1 + sigma * sigma) - x0) / sigma;
                }
            }
        }
        return expected;
    }

    internal sealed class Tolerance(double relative) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= relative * (1 + Math.Abs(y));

        public int GetHashCode(double obj) => 0;
    }
}
