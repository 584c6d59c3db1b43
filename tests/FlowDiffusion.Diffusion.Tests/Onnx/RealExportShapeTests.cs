using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>Real exports that failed before (issue 16 item 7), each as a generated export of that shape.</summary>
public sealed class RealExportShapeTests(AnalyticModels models) : IClassFixture<AnalyticModels>, IDisposable
{
    private readonly OnnxSessionCache _cache = new();

    [Fact]
    public void Optimum_index_that_lists_vae_rather_than_its_halves_keeps_the_vae_encoder()
    {
        var folder = Copy("optimum-index");
        // optimum keeps diffusers' own model_index.json: one "vae" entry, no vae_encoder / vae_decoder.
        File.WriteAllText(Path.Combine(folder, "model_index.json"), """
            { "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
              "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
              "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
              "vae": ["diffusers", "AutoencoderKL"], "safety_checker": [null, null], "feature_extractor": [null, null] }
            """);
        Assert.Equal(Path.Combine(folder, "vae_encoder", "model.onnx"), ModelFolder.Open(folder).RequireVaeEncoder());

        File.WriteAllText(Path.Combine(folder, "model_index.json"), """
            { "_class_name": "OnnxStableDiffusionPipeline", "unet": ["diffusers", "OnnxRuntimeModel"],
              "vae": ["diffusers", "AutoencoderKL"], "vae_encoder": [null, null] }
            """);
        Assert.Null(ModelFolder.Open(folder).VaeEncoderPath);
    }

    [Fact]
    public void Inpainting_unet_with_a_dynamic_channel_axis_takes_its_channels_from_the_first_convolution()
    {
        // out_sample = conv_in(sample) with a 1×1 kernel summing all 9 input channels into each of 4 outputs.
        var g = new GraphBuilder("inpaint_unet");
        var sample = g.Input("sample", OnnxType.Float, "batch", "channels", "height", "width");
        g.Input("timestep", OnnxType.Int64, "batch");
        g.Input("encoder_hidden_states", OnnxType.Float, "batch", "sequence", 8);
        var conv = g.Conv(sample, g.Weight("conv_in.weight", Enumerable.Repeat(1f, 4 * 9).ToArray(), 4, 9, 1, 1), g.Weight("conv_in.bias", new float[4], 4), 1);
        g.Output(conv, "out_sample", OnnxType.Float, "batch", 4, "height", "width");
        using var unet = UNet.Open(_cache, Write(g, "inpaint-unet"));
        var shape = new LatentShape(1, 9, 1, 1);

        var prediction = unet.Predict(Enumerable.Range(1, 9).Select(i => (float)i).ToArray(), shape, [10f], new float[5 * 8], 5);

        Assert.Equal(9, unet.InChannels);
        Assert.Equal([45f, 45f, 45f, 45f], prediction);
        Assert.Throws<ArgumentException>(() => unet.Predict(new float[4], new LatentShape(1, 4, 1, 1), [10f], new float[5 * 8], 5));
    }

    [Fact]
    public void Unet_with_controlnet_inputs_is_refused_at_load_naming_each_input()
    {
        var g = new GraphBuilder("controlnet_unet");
        var sample = g.Input("sample", OnnxType.Float, "batch", 4, "height", "width");
        g.Input("timestep", OnnxType.Float, "batch");
        g.Input("encoder_hidden_states", OnnxType.Float, "batch", "sequence", 8);
        g.Input("timestep_cond", OnnxType.Float, "batch", 256);
        g.Input("down_block_additional_residual_0", OnnxType.Float, "batch", 320, "height", "width");
        g.Input("mid_block_additional_residual", OnnxType.Float, "batch", 1280, "h", "w");
        g.Output(sample, "out_sample", OnnxType.Float, "batch", 4, "height", "width");
        var path = Write(g, "controlnet-unet");

        var error = Assert.Throws<ModelMismatchException>(() => UNet.Open(_cache, path));

        Assert.Contains(path, error.Message);
        // timestep_cond (LCM) is fed now; the residuals are not.
        Assert.DoesNotContain("LCM-distilled", error.Message);
        Assert.Contains("'down_block_additional_residual_0 float32 [batch, 320, height, width]' (ControlNet residuals)", error.Message);
        Assert.Contains("'mid_block_additional_residual float32 [batch, 1280, h, w]' (ControlNet residuals)", error.Message);
    }

    [Fact]
    public void Lcm_unet_whose_timestep_cond_width_is_dynamic_is_refused_naming_the_input()
    {
        var g = new GraphBuilder("lcm_dynamic_unet");
        var sample = g.Input("sample", OnnxType.Float, "batch", 4, "height", "width");
        g.Input("timestep", OnnxType.Float, "batch");
        g.Input("encoder_hidden_states", OnnxType.Float, "batch", "sequence", 8);
        g.Input("timestep_cond", OnnxType.Float, "batch", "width");
        g.Output(sample, "out_sample", OnnxType.Float, "batch", 4, "height", "width");
        var path = Write(g, "lcm-dynamic-unet");

        var error = Assert.Throws<ModelMismatchException>(() => UNet.Open(_cache, path));

        Assert.Contains(path, error.Message);
        Assert.Contains("'timestep_cond' (time_cond_proj_dim)", error.Message);
    }

    [Fact]
    public void Export_with_gpu_only_fused_operators_says_which_operator_and_that_it_runs_on_the_gpu_only()
    {
        // What onnxruntime's transformers optimiser writes for CUDA: GroupNorm over NHWC activations.
        var path = new HandWrittenOnnx()
            .Opset("com.microsoft", 1)
            .Input("x", 1, 4, 4, 8).Output("y", 1, 4, 4, 8)
            .Weight("gamma", Enumerable.Repeat(1f, 8).ToArray(), 8).Weight("beta", new float[8], 8)
            .Node("GroupNorm", ["x", "gamma", "beta"], ["y"], "com.microsoft", ("activation", 0L), ("epsilon", 1e-5f), ("groups", 2L), ("channels_last", 1L))
            .Write(Path.Combine(models.Root, "gpu-only", "model.onnx"));

        var error = Assert.Throws<OnnxModelLoadException>(() => _cache.Acquire(path));

        Assert.Equal(path, error.ModelPath);
        Assert.Contains("com.microsoft.GroupNorm", error.Message);
        Assert.Contains("optimised for the GPU only", error.Message);
        Assert.Contains("provider cuda", error.Message);
    }

    [Fact]
    public void Vae_decoder_exported_with_batch_fixed_at_one_decodes_a_batch_image_by_image()
    {
        // sample = 8× nearest upsampling of 2 · latents[:, :3], batch axis fixed at 1.
        var g = new GraphBuilder("batch_one_decoder");
        var latent = g.Input("latent_sample", OnnxType.Float, 1, 4, "h", "w");
        var rgb = g.UpsampleNearest(g.Slice(g.Mul(latent, g.Scalar(2f)), [0], [3], [1]), 8);
        g.Output(rgb, "sample", OnnxType.Float, 1, 3, "height", "width");
        var decoder = VaeDecoder.Open(_cache, Write(g, "batch-one-decoder"));

        var image = decoder.Decode([1f, 2f, 3f, 0f, -1f, -2f, -3f, 0f], [2, 4, 1, 1]);

        Assert.Equal([2, 3, 8, 8], image.Shape);
        float[] expected = [2f, 4f, 6f, -2f, -4f, -6f];
        Assert.Equal(expected.SelectMany(v => Enumerable.Repeat(v, 64)), image.Values);
    }

    [Fact]
    public void Git_lfs_pointer_instead_of_weights_says_run_git_lfs_pull()
    {
        var folder = Copy("lfs");
        var unet = Path.Combine(folder, "unet", "model.onnx");
        File.WriteAllText(unet, "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146b7e3a2b8c1f0e6d5\nsize 3438167534\n");

        var error = Assert.Throws<InvalidDataException>(() => _cache.Acquire(unet));

        Assert.Contains(unet, error.Message);
        Assert.Contains("Git LFS pointer", error.Message);
        Assert.Contains("git lfs pull", error.Message);
        Assert.Equal(0, _cache.Count);
    }

    public void Dispose() => _cache.Dispose();

    private string Copy(string name) => models.CopyOf(models.Default, "export-" + name);

    private string Write(GraphBuilder graph, string name)
    {
        var folder = Path.Combine(models.Root, "shape-" + name);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "model.onnx");
        File.WriteAllBytes(path, graph.Build(name).ToBytes());
        return path;
    }
}
