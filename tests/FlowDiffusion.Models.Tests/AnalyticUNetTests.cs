using FlowDiffusion.ModelGenerator;
using FlowDiffusion.ModelGenerator.Analytic;
using static FlowDiffusion.Models.Tests.OnnxModelRun;

namespace FlowDiffusion.Models.Tests;

public sealed class AnalyticUNetTests
{
    private const int Height = 8;
    private const int Width = 6;
    private const int Sequence = 77;

    // Item 0: "red … blue" → mean (.5, 0, .5); item 1: no colour words → gray.
    private static readonly (double, double, double)[][] Tokens = [[(1, 0, 0), (0, 0, 1)], []];
    private static readonly (double R, double G, double B)[] Colours = [(0.5, 0, 0.5), (0.5, 0.5, 0.5)];

    public static TheoryData<double, double> Timesteps => new()
    {
        { 999, 0 },
        { 1, 500 },
        { 999.0 - 0.5, 12.25 },
        { 321.75, 0.4 },
    };

    [Theory]
    [MemberData(nameof(Timesteps))]
    public void Analytic_unet_predicts_the_noise_added_to_the_colour_latent(double t0, double t1)
    {
        var (sample, noise) = NoisedColourLatents([t0, t1], seed: 7);

        var output = Run(
            ShippedUNet("analytic-sd"),
            ("sample", Floats(sample, 2, 4, Height, Width)),
            ("timestep", Floats([(float)t0, (float)t1], 2)),
            ("encoder_hidden_states", Floats(AnalyticExpectations.Context(Sequence, Tokens), 2, Sequence, 4)))["out_sample"];

        Assert.Equal([2L, 4, Height, Width], output.Shape);
        AssertClose(noise, output.Values, 2e-3);
    }

    [Fact]
    public void Analytic_unet_reads_colour_from_long_conditioning_of_several_chunks()
    {
        var (sample, noise) = NoisedColourLatents([400, 400], seed: 3);
        var context = AnalyticExpectations.Context(2 * Sequence, Tokens);

        var output = Run(
            ShippedUNet("analytic-sd"),
            ("sample", Floats(sample, 2, 4, Height, Width)),
            ("timestep", Floats([400f, 400f], 2)),
            ("encoder_hidden_states", Floats(context, 2, 2 * Sequence, 4)))["out_sample"];

        AssertClose(noise, output.Values, 2e-3);
    }

    public static TheoryData<string, TimestepInput> TimestepVariants => new()
    {
        { "int64 [batch]", TimestepInput.Int64Vector },
        { "float32 scalar", TimestepInput.Float32Scalar },
        { "float32 [batch]", TimestepInput.Float32Vector },
    };

    [Theory]
    [MemberData(nameof(TimestepVariants))]
    public void Analytic_unet_variant_binds_its_declared_timestep_type(string description, TimestepInput timestep)
    {
        Assert.NotEmpty(description);
        using var folder = new TempFolder();
        ModelWriter.WriteAnalytic(folder.Path, new AnalyticVariant(Timestep: timestep));
        var (sample, noise) = NoisedColourLatents([250, 250], seed: 11);
        var timestepValue = timestep switch
        {
            TimestepInput.Int64Vector => Int64s([250, 250], 2),
            TimestepInput.Float32Scalar => Floats([250f]),
            _ => Floats([250f, 250f], 2),
        };

        var output = Run(
            Path.Combine(folder.Path, "unet", "model.onnx"),
            ("sample", Floats(sample, 2, 4, Height, Width)),
            ("timestep", timestepValue),
            ("encoder_hidden_states", Floats(AnalyticExpectations.Context(Sequence, Tokens), 2, Sequence, 4)))["out_sample"];

        AssertClose(noise, output.Values, 2e-3);
    }

    [Fact]
    public void Float16_analytic_unet_takes_and_returns_float16()
    {
        using var folder = new TempFolder();
        ModelWriter.WriteAnalytic(folder.Path, AnalyticVariant.Float16);
        var (sample, noise) = NoisedColourLatents([600, 300], seed: 5);

        var output = Run(
            Path.Combine(folder.Path, "unet", "model.onnx"),
            ("sample", Halves(sample, 2, 4, Height, Width)),
            ("timestep", Halves([600f, 300f], 2)),
            ("encoder_hidden_states", Halves(AnalyticExpectations.Context(Sequence, Tokens), 2, Sequence, 4)))["out_sample"];

        AssertClose(noise, output.Values, 2e-2);
    }

    [Fact]
    public void Inpainting_unet_keeps_masked_image_latents_outside_the_mask_and_paints_the_colour_inside()
    {
        const double t = 700;
        var sigma = ExpectedSigma.At(t);
        var sqrtAlphaBar = 1 / Math.Sqrt(1 + sigma * sigma);
        var sqrtOneMinusAlphaBar = sigma * sqrtAlphaBar;
        var plane = Height * Width;
        var noise = AnalyticExpectations.Noise(2 * 4 * plane, seed: 13);
        var maskedImage = AnalyticExpectations.Noise(2 * 4 * plane, seed: 17).Select(v => v * 0.5f).ToArray();
        var sample = new float[2 * 9 * plane];
        for (var b = 0; b < 2; b++)
        {
            var colour = AnalyticExpectations.ColourLatent(Colours[b].R, Colours[b].G, Colours[b].B);
            for (var p = 0; p < plane; p++)
            {
                // Left half of the latent is to be repainted (mask 1), right half kept.
                var mask = p % Width < Width / 2 ? 1f : 0f;
                sample[(b * 9 + 4) * plane + p] = mask;
                for (var k = 0; k < 4; k++)
                {
                    var at = (b * 4 + k) * plane + p;
                    var x0 = mask * colour[k] + (1 - mask) * maskedImage[at];
                    sample[(b * 9 + k) * plane + p] = (float)(sqrtAlphaBar * x0 + sqrtOneMinusAlphaBar * noise[at]);
                    sample[(b * 9 + 5 + k) * plane + p] = maskedImage[at];
                }
            }
        }

        var output = Run(
            ShippedUNet("analytic-sd-inpaint"),
            ("sample", Floats(sample, 2, 9, Height, Width)),
            ("timestep", Floats([(float)t, (float)t], 2)),
            ("encoder_hidden_states", Floats(AnalyticExpectations.Context(Sequence, Tokens), 2, Sequence, 4)))["out_sample"];

        Assert.Equal([2L, 4, Height, Width], output.Shape);
        AssertClose(noise, output.Values, 2e-3);
    }

    private static string ShippedUNet(string model) => Path.Combine(RepositoryRoot.Models, model, "unet", "model.onnx");

    /// <summary>x_t = √ᾱ·x0 + √(1−ᾱ)·ε per item, with x0 the latent of its expected colour; returns (x_t, ε).</summary>
    private static (float[] Sample, float[] Noise) NoisedColourLatents(double[] timesteps, int seed)
    {
        var plane = Height * Width;
        var noise = AnalyticExpectations.Noise(2 * 4 * plane, seed);
        var sample = new float[noise.Length];
        for (var b = 0; b < 2; b++)
        {
            var sigma = ExpectedSigma.At(timesteps[b]);
            var sqrtAlphaBar = 1 / Math.Sqrt(1 + sigma * sigma);
            var sqrtOneMinusAlphaBar = sigma * sqrtAlphaBar;
            var x0 = AnalyticExpectations.ColourLatent(Colours[b].R, Colours[b].G, Colours[b].B);
            for (var k = 0; k < 4; k++)
            {
                for (var p = 0; p < plane; p++)
                {
                    var at = (b * 4 + k) * plane + p;
                    sample[at] = (float)(sqrtAlphaBar * x0[k] + sqrtOneMinusAlphaBar * noise[at]);
                }
            }
        }

        return (sample, noise);
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= tolerance, $"largest |expected - actual| = {worst}, tolerance {tolerance}");
    }
}
