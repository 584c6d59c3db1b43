using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// An SDXL folder in Optimum's export layout (diffusers' model_index.json with StableDiffusionXLPipeline and a whole
/// <c>vae</c>; text encoders declaring <c>hidden_states.0</c> … <c>hidden_states.N</c>, no <c>hidden_states</c>), written
/// from the tiny checkpoint, opens and runs through the same classes model.load uses, and matches the torch reference.
/// </summary>
public sealed class SdxlOptimumFolderTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-sdxl-optimum-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Optimum_layout_folder_opens_and_its_towers_unet_and_vae_match_torch()
    {
        var folder = Path.Combine(_scratch, "sdxl-optimum");
        using (var checkpoint = SdxlCheckpoint.Open(SdxlReference.File))
        {
            SdxlOnnxFolder.Write(checkpoint, folder, TinyTokenizer, optimumLayout: true);
        }

        var model = ModelFolder.Open(folder);
        Assert.Equal("StableDiffusionXLPipeline", model.PipelineClass);
        Assert.NotNull(model.TextEncoder2Path);
        Assert.NotNull(model.VaeEncoderPath);
        Assert.Equal(SdxlCheckpoint.ScalingFactor, model.VaeScalingFactor);
        using (var session = new InferenceSession(model.TextEncoder2Path))
        {
            // What Optimum declares: every layer, and no single 'hidden_states'; the tiny towers have 2 layers.
            Assert.Equal(["hidden_states.0", "hidden_states.1", "hidden_states.2", "last_hidden_state", "text_embeds"], session.OutputMetadata.Keys.Order(StringComparer.Ordinal));
        }

        using var cache = new OnnxSessionCache();
        var first = TextEncoder.Open(cache, model.TextEncoderPath!);
        var second = TextEncoder.Open(cache, model.TextEncoder2Path!);
        Assert.Equal("hidden_states.1", first.SdxlContextOutput);
        Assert.Equal("hidden_states.1", second.SdxlContextOutput);
        var a = first.EncodeOutputs(SdxlReference.Ids("text_encoder.input_ids"), 2, [first.RequireSdxlContextOutput()]);
        var b = second.EncodeOutputs(SdxlReference.Ids("text_encoder_2.input_ids"), 2, [second.RequireSdxlContextOutput(), "text_embeds"]);
        Reference.AssertClose(SdxlReference.Tensor("text_encoder.hidden_states"), (a[0].Values, [.. a[0].Shape.Select(d => (long)d)]), 1e-4, "CLIP-L hidden_states[-2]");
        Reference.AssertClose(SdxlReference.Tensor("text_encoder_2.hidden_states"), (b[0].Values, [.. b[0].Shape.Select(d => (long)d)]), 1e-4, "OpenCLIP hidden_states[-2]");
        Reference.AssertClose(SdxlReference.Tensor("text_encoder_2.text_embeds"), (b[1].Values, [.. b[1].Shape.Select(d => (long)d)]), 1e-4, "text_embeds");

        using var unet = UNet.Open(cache, model.UNetPath);
        Assert.True(unet.TakesAddedConditioning);
        var prediction = new float[2 * 4 * 8 * 8];
        unet.Predict(SdxlReference.Tensor("unet.sample").Values, new LatentShape(2, 4, 8, 8), SdxlReference.Tensor("unet.timestep").Values,
            SdxlReference.Tensor("unet.encoder_hidden_states").Values, 16, SdxlReference.Tensor("unet.text_embeds").Values, SdxlReference.Tensor("unet.time_ids").Values, prediction);
        Reference.AssertClose(SdxlReference.Tensor("unet.out_sample"), (prediction, [2, 4, 8, 8]), 1e-4, "out_sample");

        using var decoder = VaeDecoder.Open(cache, model.VaeDecoderPath);
        var latent = SdxlReference.Tensor("vae.latent_sample");
        var image = decoder.Decode(latent.Values, [.. latent.Shape.Select(d => (int)d)]);
        Reference.AssertClose(SdxlReference.Tensor("vae.decoded"), (image.Values, [.. image.Shape.Select(d => (long)d)]), 1e-4, "decoded");
    }

    [Fact]
    public void A_budget_that_fits_the_unet_alone_unloads_both_text_encoders_once_the_unet_loads()
    {
        var folder = Path.Combine(_scratch, "sdxl");
        using (var checkpoint = SdxlCheckpoint.Open(SdxlReference.File))
        {
            SdxlOnnxFolder.Write(checkpoint, folder, TinyTokenizer);
        }

        var model = ModelFolder.Open(folder);
        using var cache = new OnnxSessionCache(OnnxModelFile.Read(model.UNetPath).WeightsBytes);
        var unloaded = new List<string>();
        cache.Unloaded += (_, e) => { lock (unloaded) unloaded.Add(e.ModelPath); };
        var first = TextEncoder.Open(cache, model.TextEncoderPath!);
        var second = TextEncoder.Open(cache, model.TextEncoder2Path!);
        first.EncodeOutputs(SdxlReference.Ids("text_encoder.input_ids"), 2, [first.RequireSdxlContextOutput()]);
        second.EncodeOutputs(SdxlReference.Ids("text_encoder_2.input_ids"), 2, [second.RequireSdxlContextOutput(), "text_embeds"]);

        using var unet = UNet.Open(cache, model.UNetPath);
        var prediction = new float[2 * 4 * 8 * 8];
        unet.Predict(SdxlReference.Tensor("unet.sample").Values, new LatentShape(2, 4, 8, 8), SdxlReference.Tensor("unet.timestep").Values,
            SdxlReference.Tensor("unet.encoder_hidden_states").Values, 16, SdxlReference.Tensor("unet.text_embeds").Values, SdxlReference.Tensor("unet.time_ids").Values, prediction);

        Assert.Contains(model.TextEncoderPath!, unloaded);
        Assert.Contains(model.TextEncoder2Path, unloaded);
        Reference.AssertClose(SdxlReference.Tensor("unet.out_sample"), (prediction, [2, 4, 8, 8]), 1e-4, "out_sample after the encoders were unloaded");
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch)) Directory.Delete(_scratch, recursive: true);
    }

    private static string TinyTokenizer
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln")))
                {
                    return Path.Combine(dir.FullName, "models", "tiny-sd", "tokenizer");
                }
            }

            throw new InvalidOperationException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
