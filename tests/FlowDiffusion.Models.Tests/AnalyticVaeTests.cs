using FlowDiffusion.ModelGenerator;
using FlowDiffusion.ModelGenerator.Analytic;
using static FlowDiffusion.Models.Tests.OnnxModelRun;

namespace FlowDiffusion.Models.Tests;

public sealed class AnalyticVaeTests
{
    public static TheoryData<double, double, double> Colours => new()
    {
        { 1, 0, 0 },
        { 0, 1, 1 },
        { 1, 0.5, 0 },
        { 0.5, 0.5, 0.5 },
        { 0.2, 0.7, 0.9 },
    };

    [Theory]
    [MemberData(nameof(Colours))]
    public void Decode_of_encode_of_a_solid_colour_returns_the_colour(double r, double g, double b)
    {
        const int height = 64;
        const int width = 48;
        var image = SolidImage(r, g, b, height, width);

        var latent = Run(ShippedPath("vae_encoder"), ("sample", Floats(image, 1, 3, height, width)))["latent_sample"];
        // What a pipeline does between the two: × scaling factor after encoding, ÷ it before decoding.
        var scaled = latent.Values.Select(v => (float)(v * AnalyticExpectations.ScalingFactor)).ToArray();
        var unscaled = scaled.Select(v => (float)(v / AnalyticExpectations.ScalingFactor)).ToArray();
        var decoded = Run(ShippedPath("vae_decoder"), ("latent_sample", Floats(unscaled, latent.Shape)))["sample"];

        Assert.Equal([1L, 3, height, width], decoded.Shape);
        double[] rgb = [r, g, b];
        for (var c = 0; c < 3; c++)
        {
            var channel = decoded.Values.Skip(c * height * width).Take(height * width);
            Assert.All(channel, v => Assert.Equal(rgb[c], (v + 1) / 2, 5));
        }
    }

    [Fact]
    public void Encoder_maps_each_8x8_block_mean_through_M()
    {
        // Left 8 columns red, right 8 columns blue: one latent pixel each.
        var image = new float[3 * 8 * 16];
        for (var y = 0; y < 8; y++)
        {
            for (var x = 0; x < 16; x++)
            {
                var isRed = x < 8;
                image[0 * 128 + y * 16 + x] = isRed ? 1 : -1;
                image[1 * 128 + y * 16 + x] = -1;
                image[2 * 128 + y * 16 + x] = isRed ? -1 : 1;
            }
        }

        var latent = Run(ShippedPath("vae_encoder"), ("sample", Floats(image, 1, 3, 8, 16)))["latent_sample"];

        Assert.Equal([1L, 4, 1, 2], latent.Shape);
        var red = AnalyticExpectations.ColourLatent(1, 0, 0);
        var blue = AnalyticExpectations.ColourLatent(0, 0, 1);
        for (var k = 0; k < 4; k++)
        {
            Assert.Equal(red[k] / AnalyticExpectations.ScalingFactor, latent.At(0, k, 0, 0), 5);
            Assert.Equal(blue[k] / AnalyticExpectations.ScalingFactor, latent.At(0, k, 0, 1), 5);
        }
    }

    [Fact]
    public void Latent_parameters_variant_returns_the_mean_and_a_negligible_log_variance()
    {
        using var folder = new TempFolder();
        ModelWriter.WriteAnalytic(folder.Path, new AnalyticVariant(EncoderOutput: VaeEncoderOutput.LatentParameters));
        var image = SolidImage(0, 1, 0, 16, 16);

        var parameters = Run(Path.Combine(folder.Path, "vae_encoder", "model.onnx"), ("sample", Floats(image, 1, 3, 16, 16)))["latent_parameters"];

        Assert.Equal([1L, 8, 2, 2], parameters.Shape);
        var green = AnalyticExpectations.ColourLatent(0, 1, 0);
        for (var k = 0; k < 4; k++)
        {
            Assert.Equal(green[k] / AnalyticExpectations.ScalingFactor, parameters.At(0, k, 1, 1), 5);
            Assert.Equal(-30f, parameters.At(0, 4 + k, 1, 1));
        }
    }

    [Fact]
    public void Tiny_latent_sample_variant_returns_four_channels()
    {
        using var folder = new TempFolder();
        ModelWriter.WriteTiny(folder.Path, VaeEncoderOutput.LatentSample);

        var latent = Run(Path.Combine(folder.Path, "vae_encoder", "model.onnx"), ("sample", Floats(SolidImage(1, 1, 1, 64, 64), 1, 3, 64, 64)));

        Assert.Equal([1L, 4, 8, 8], Assert.Single(latent, o => o.Key == "latent_sample").Value.Shape);
    }

    private static string ShippedPath(string component) => Path.Combine(RepositoryRoot.Models, "analytic-sd", component, "model.onnx");

    private static float[] SolidImage(double r, double g, double b, int height, int width)
    {
        double[] rgb = [r, g, b];
        return Enumerable.Range(0, 3 * height * width).Select(i => (float)(2 * rgb[i / (height * width)] - 1)).ToArray();
    }
}
