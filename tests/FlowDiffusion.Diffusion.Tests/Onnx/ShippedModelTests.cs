using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>The model folders shipped under models/ open and run through every wrapper.</summary>
public sealed class ShippedModelTests : IDisposable
{
    private readonly OnnxSessionCache _cache = new();

    [Fact]
    public void Tiny_sd_runs_text_encoder_unet_and_vae_with_sd_shapes()
    {
        var folder = ModelFolder.Open(Shipped("tiny-sd"));
        var textEncoder = TextEncoder.Open(_cache, folder.TextEncoderPath!);
        using var unet = UNet.Open(_cache, folder.UNetPath);
        var encoder = VaeEncoder.Open(_cache, folder.RequireVaeEncoder());
        var decoder = VaeDecoder.Open(_cache, folder.VaeDecoderPath);

        var hidden = textEncoder.Encode(Enumerable.Repeat(754, 2 * 77).ToArray(), batch: 2);
        var shape = new LatentShape(2, 4, 8, 8);
        var sample = Enumerable.Range(0, shape.Length).Select(i => MathF.Cos(i * 0.1f)).ToArray();
        var first = unet.Predict(sample, shape, [999f, 999f], hidden.Values, 77);
        var again = unet.Predict(sample, shape, [999f, 999f], hidden.Values, 77);
        var latents = encoder.Encode(new float[3 * 64 * 64], [1, 3, 64, 64]);
        var image = decoder.Decode(latents.Values, latents.Shape);

        Assert.Equal([2, 77, 32], hidden.Shape);
        Assert.Equal(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64, unet.TimestepType);
        Assert.Equal(4, unet.InChannels);
        Assert.All(first, v => Assert.True(float.IsFinite(v)));
        Assert.Contains(first, v => v != 0f);
        Assert.Equal(first, again);
        Assert.True(encoder.OutputsDistribution);
        Assert.Equal([1, 4, 8, 8], latents.Shape);
        Assert.Equal([1, 3, 64, 64], image.Shape);
        Assert.Equal(0.18215f, folder.VaeScalingFactor);
    }

    [Fact]
    public void Analytic_inpaint_folder_has_a_nine_channel_unet()
    {
        var folder = ModelFolder.Open(Shipped("analytic-sd-inpaint"));
        using var unet = UNet.Open(_cache, folder.UNetPath);

        Assert.Equal("OnnxStableDiffusionInpaintPipeline", folder.PipelineClass);
        Assert.Equal(9, unet.InChannels);
    }

    public void Dispose() => _cache.Dispose();

    private static string Shipped(string name) => RepositoryModels.Folder(name);
}
