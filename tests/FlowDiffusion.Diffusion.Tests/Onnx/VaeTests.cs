using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.ModelGenerator;
using FlowDiffusion.ModelGenerator.Analytic;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

public sealed class VaeTests(AnalyticModels models) : IClassFixture<AnalyticModels>, IDisposable
{
    private static readonly float[] Rgb = [0.6f, -0.2f, 0.4f];
    private readonly OnnxSessionCache _cache = new();

    public static TheoryData<VaeEncoderOutput> EncoderOutputs => new() { VaeEncoderOutput.LatentSample, VaeEncoderOutput.LatentParameters };

    [Theory]
    [MemberData(nameof(EncoderOutputs))]
    public void Solid_colour_survives_the_analytic_vae_round_trip(VaeEncoderOutput output)
    {
        var folder = ModelFolder.Open(models.Folder(new AnalyticVariant(EncoderOutput: output)));
        var encoder = VaeEncoder.Open(_cache, folder.RequireVaeEncoder());
        var decoder = VaeDecoder.Open(_cache, folder.VaeDecoderPath);

        var latents = encoder.Encode(SolidImage(16, 24), [1, 3, 16, 24]);
        var image = decoder.Decode(latents.Values, latents.Shape);

        Assert.Equal(output == VaeEncoderOutput.LatentParameters, encoder.OutputsDistribution);
        Assert.Equal([1, 4, 2, 3], latents.Shape);
        for (var k = 0; k < 4; k++)
        {
            var expected = LatentBasis.M[k, 0] * Rgb[0] + LatentBasis.M[k, 1] * Rgb[1] + LatentBasis.M[k, 2] * Rgb[2];
            Assert.All(latents.Values.AsSpan(k * 6, 6).ToArray(), v => Assert.Equal(expected, v, 1e-6f));
        }
        Assert.Equal([1, 3, 16, 24], image.Shape);
        for (var c = 0; c < 3; c++)
        {
            Assert.All(image.Values.AsSpan(c * 16 * 24, 16 * 24).ToArray(), v => Assert.Equal(Rgb[c], v, 1e-6f));
        }
        Assert.Equal(1, encoder.RunCount);
        Assert.Equal(1, decoder.RunCount);
    }

    [Fact]
    public void Sampling_latent_parameters_draws_one_normal_per_latent_and_adds_scaled_noise()
    {
        var folder = models.Folder(new AnalyticVariant(EncoderOutput: VaeEncoderOutput.LatentParameters));
        var encoder = VaeEncoder.Open(_cache, Path.Combine(folder, "vae_encoder", "model.onnx"));
        var noise = new ConstantNoise(1e6f);

        var mean = encoder.Encode(SolidImage(16, 16, batch: 2), [2, 3, 16, 16]);
        var sampled = encoder.Encode(SolidImage(16, 16, batch: 2), [2, 3, 16, 16], noise);

        // The analytic encoder's log-variance is -30, so std = e^-15 and ε = 1e6 moves each latent by about 0.306.
        Assert.Equal(2 * 4 * 2 * 2, noise.Drawn);
        var shift = MathF.Exp(-15f) * 1e6f;
        Assert.All(Enumerable.Range(0, mean.Values.Length), i => Assert.Equal(mean.Values[i] + shift, sampled.Values[i], 1e-5f));
    }

    [Fact]
    public void Latent_sample_export_ignores_the_noise_source()
    {
        var encoder = VaeEncoder.Open(_cache, Path.Combine(models.Default, "vae_encoder", "model.onnx"));
        var noise = new ConstantNoise(1f);

        encoder.Encode(SolidImage(8, 8), [1, 3, 8, 8], noise);

        Assert.Equal(0, noise.Drawn);
    }

    [Fact]
    public void Wrong_rank_image_is_refused_with_the_declaration()
    {
        var encoder = VaeEncoder.Open(_cache, Path.Combine(models.Default, "vae_encoder", "model.onnx"));

        var error = Assert.Throws<ArgumentException>(() => encoder.Encode(new float[3 * 64], [3, 8, 8]));

        Assert.Contains("sample float32 [batch, 3, height, width]", error.Message);
    }

    [Fact]
    public void Opening_a_decoder_as_encoder_names_the_expected_outputs()
    {
        var decoder = Path.Combine(models.Default, "vae_decoder", "model.onnx");

        var error = Assert.Throws<ModelMismatchException>(() => VaeEncoder.Open(_cache, decoder));

        Assert.Contains(decoder, error.Message);
        Assert.Contains("input 'sample'", error.Message);
        Assert.Contains("latent_sample float32 [batch, 4, latent_height, latent_width]", error.Message);
    }

    public void Dispose() => _cache.Dispose();

    private static float[] SolidImage(int height, int width, int batch = 1)
    {
        var image = new float[batch * 3 * height * width];
        for (var b = 0; b < batch; b++)
        {
            for (var c = 0; c < 3; c++)
            {
                image.AsSpan((b * 3 + c) * height * width, height * width).Fill(Rgb[c]);
            }
        }
        return image;
    }

    private sealed class ConstantNoise(float value) : INoiseSource
    {
        public int Drawn { get; private set; }

        public void FillStandardNormal(Span<float> destination)
        {
            destination.Fill(value);
            Drawn += destination.Length;
        }
    }
}
