using System.Globalization;
using FlowDiffusion.Checkpoints;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// conditioning.instruct_pix2pix on the tiny instruct-pix2pix checkpoint (sd1-tiny with an 8-channel conv_in,
/// tools/reference/make_ip2p.py) through model.load, image → conditioning → diffusion.ksampler → vae.decode. One euler step
/// from σ_max over latents that carry their noise (add_noise off) lands on x − σ·ε̂; ε̂ is rebuilt here from plain ONNX
/// Runtime calls of the checkpoint's converted UNet on the latents and vae.encode's image latents concatenated by hand
/// (8 channels, latents first): CFG ε_u + cfg·(ε_c − ε_u), and guidance.dual_cfg's n + s₂·(p₂ − n) + s₁·(p₁ − p₂) with a
/// negative that lacks the image latents, which the UNet then reads as zeros (ComfyUI's IP2P; the paper's 3-way guidance).
/// Sampled at half the image's size, the image latents are resized to the latents' as ComfyUI's common_upscale does (bilinear).
/// Tolerance 1e-4 on ε̂ (values ~1).
/// </summary>
public sealed class InstructPix2PixTests : IDisposable
{
    private static readonly string TestData = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Ip2pCheckpoint = Path.Combine(TestData, "ip2p", "ldm-fp16.safetensors");
    private static readonly string PlainCheckpoint = Path.Combine(TestData, "ldm-fp16.safetensors");
    private static readonly ExtraKey<ExtraTensor> ImageLatent = ExtraKey.Tensor("instruct_pix2pix.image_latent");
    private readonly TempFolder _folder = new();

    public InstructPix2PixTests()
    {
        TestPng.WriteRgb(Image("a"), 64, 64, (x, y) => ((byte)(x * 4), (byte)(y * 4), (byte)((x * y) % 256)));
        TestPng.WriteRgb(Image("b"), 64, 64, (x, y) => ((byte)(255 - (y * 3)), (byte)((x + y) * 2), 40));
        // 70 × 69: ComfyUI keeps 64 × 64 from column 3 and row 2 ((side % 8) / 2 cut first).
        TestPng.WriteRgb(Image("wide"), 70, 69, (x, y) => ((byte)((x - 3) * 4), (byte)((y - 2) * 4), (byte)(((x - 3) * (y - 2)) % 256)));
    }

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("cfg", 64)]
    [InlineData("dual", 64)]
    [InlineData("cfg", 32)] // 4 × 4 latents: the 8 × 8 image latents resized bilinearly, which at half size is each 2 × 2 block's mean
    public async Task One_euler_step_equals_the_hand_concatenated_UNet_calls(string guidance, int size)
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Yaml(Ip2pCheckpoint, "a", guidance, size), new Dictionary<string, object?>())).AssertCompleted();
        var x = Assert.IsType<Latent>(run.Result.Output("noise", "noise")).ToArray();
        var result = Assert.IsType<Latent>(run.Result.Output("sample", "latent")).ToArray();
        var side = size / 8;
        var image = HalvedTo(Assert.IsType<Latent>(run.Result.Output("encoded", "latent")).ToArray(), side);
        var positive = Assert.IsType<Conditioning>(run.Result.Output("positive", "conditioning"));
        var negative = Assert.IsType<Conditioning>(run.Result.Output("negative", "conditioning"));
        var sigma = SigmaMax();
        var input = x.Select(v => (float)(v / Math.Sqrt((sigma * sigma) + 1))).ToArray();

        using var checkpoint = Sd1Checkpoint.Open(Ip2pCheckpoint);
        using var unet = new InferenceSession(checkpoint.BuildUNet().ToBytes());
        float[] Predict(Conditioning c, float[] concat)
        {
            var sample = input.Concat(concat).ToArray(); // batch 1: the latents' 4 channels, then the image latents' 4
            using var options = new Microsoft.ML.OnnxRuntime.RunOptions();
            using var outputs = unet.Run(options, ["sample", "timestep", "encoder_hidden_states"], [
                OrtValue.CreateTensorValueFromMemory(sample, [1, 8, side, side]),
                OrtValue.CreateTensorValueFromMemory(new[] { 999f }, [1]),
                OrtValue.CreateTensorValueFromMemory(c.Embeddings.ToArray(), [1, c.Tokens, c.Dim])], ["out_sample"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }

        var conditional = Predict(positive, image);
        var middle = Predict(negative, image);
        var plain = Predict(negative, new float[image.Length]);
        var worst = 0.0;
        for (var k = 0; k < x.Length; k++)
        {
            var expected = guidance == "cfg"
                ? middle[k] + (3 * (conditional[k] - middle[k]))
                : plain[k] + (1.5 * (middle[k] - plain[k])) + (3 * (conditional[k] - middle[k]));
            worst = Math.Max(worst, Math.Abs(((x[k] - result[k]) / sigma) - expected));
        }

        Assert.True(worst < 1e-4, $"guided ε off by {worst:G4}");
        Assert.True(middle.Zip(plain, (m, p) => Math.Abs(m - p)).Max() > 0.05, "the image latents must change the prediction");
        var latent = Assert.IsType<Latent>(run.Result.Output("ip2p", "latent")); // the image's size, whatever was sampled
        Assert.Equal((1, 4, 8, 8), (latent.Batch, latent.Channels, latent.Height, latent.Width));
        Assert.All(latent.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public async Task Another_input_image_draws_another_image_and_an_uneven_one_is_cropped_around_the_centre()
    {
        var a = (await SdEngine.Shared.RunYamlAsync(Yaml(Ip2pCheckpoint, "a", "cfg"), new Dictionary<string, object?>())).AssertCompleted();
        var b = (await SdEngine.Shared.RunYamlAsync(Yaml(Ip2pCheckpoint, "b", "cfg"), new Dictionary<string, object?>())).AssertCompleted();
        var wide = (await SdEngine.Shared.RunYamlAsync(Yaml(Ip2pCheckpoint, "wide", "cfg", encode: "a"), new Dictionary<string, object?>())).AssertCompleted();

        var imageA = Assert.IsType<Image>(a.Result.Output("decode", "image")).ToArray();
        var imageB = Assert.IsType<Image>(b.Result.Output("decode", "image")).ToArray();
        Assert.True(imageA.Zip(imageB, (p, q) => Math.Abs(p - q)).Max() > 0.05, "the input image must reach the UNet");
        // The 70 × 69 image's centre is image a: the same image latents on both prompts, the same result.
        var attached = Assert.IsType<Conditioning>(wide.Result.Output("ip2p", "positive_out")).Extras.Get(ImageLatent);
        Assert.Equal([1, 4, 8, 8], attached.Shape);
        Assert.Equal(Assert.IsType<Latent>(wide.Result.Output("encoded", "latent")).ToArray(), attached.Values.ToArray());
        Assert.Equal(imageA, Assert.IsType<Image>(wide.Result.Output("decode", "image")).ToArray());
    }

    [Fact]
    public async Task A_4_channel_UNet_with_the_image_latents_and_an_8_channel_one_without_them_fail_naming_the_node()
    {
        var plain = await SdEngine.Shared.RunYamlAsync(Yaml(PlainCheckpoint, "a", "cfg"), new Dictionary<string, object?>());
        plain.AssertFailed("sample", "conditioning.instruct_pix2pix", "takes 4 input channels, not 8");

        var bare = await SdEngine.Shared.RunYamlAsync(Yaml(Ip2pCheckpoint, "a", "none"), new Dictionary<string, object?>());
        Assert.Equal(RunStatus.Failed, bare.Result.Status);
        Assert.Contains("instruct-pix2pix model (8 input channels)", bare.Result.Error);
        Assert.Contains("conditioning.instruct_pix2pix", bare.Result.Error);

    }

    // The [1, 4, 8, 8] latents at side 8, or their 2 × 2 block means at side 4 (torch's bilinear halving, half-pixel centres).
    private static float[] HalvedTo(float[] latents, int side)
    {
        if (side == 8) return latents;
        var half = new float[4 * side * side];
        for (var c = 0; c < 4; c++)
        for (var y = 0; y < side; y++)
        for (var x = 0; x < side; x++)
        {
            float At(int dy, int dx) => latents[(c * 64) + (((2 * y) + dy) * 8) + (2 * x) + dx];
            half[(c * side * side) + (y * side) + x] = (At(0, 0) + At(0, 1) + At(1, 0) + At(1, 1)) / 4;
        }

        return half;
    }

    private string Image(string name) => Path.Combine(_folder.Path, name + ".png");

    // σ_max of SD's scaled_linear schedule (β from 0.00085 to 0.012 over 1000 steps), where "normal" with one step starts.
    private static double SigmaMax()
    {
        double start = Math.Sqrt(0.00085), end = Math.Sqrt(0.012), alphaBar = 1;
        for (var i = 0; i < 1000; i++)
        {
            var beta = start + ((end - start) * i / 999);
            alphaBar *= 1 - (beta * beta);
        }

        return Math.Sqrt((1 - alphaBar) / alphaBar);
    }

    // guidance: cfg (scale 3 over the node's two outputs), dual (cond1, cond2 = its outputs, the plain negative; 3 and 1.5)
    // or none (CFG over the plain prompts, no instruct-pix2pix node in the guidance). encode: the image vae.encode encodes.
    private string Yaml(string checkpoint, string image, string guidance, int size = 64, string? encode = null)
    {
        string P(string path) => path.Replace("\\", "\\\\", StringComparison.Ordinal);
        var guider = guidance switch
        {
            "dual" => "{ node: guidance.dual_cfg, in: { denoiser: denoise.denoiser, cond1: ip2p.positive_out, cond2: ip2p.negative_out, negative: negative.conditioning }, with: { scale_conds: 3, scale_negative: 1.5 } }",
            "none" => "{ node: guidance.cfg, in: { denoiser: denoise.denoiser, positive: positive.conditioning, negative: negative.conditioning, config: model.scheduler_config }, with: { scale: 3 } }",
            _ => "{ node: guidance.cfg, in: { denoiser: denoise.denoiser, positive: ip2p.positive_out, negative: ip2p.negative_out, config: model.scheduler_config }, with: { scale: 3 } }",
        };
        return $$"""
            flowdiffusion: 1
            name: ip2p
            nodes:
              model: { node: model.load, with: { path: "{{P(checkpoint)}}", tokenizer_folder: models/tiny-sd/tokenizer } }
              pos_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: make it snowy } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: pos_tokens.tokens } }
              neg_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "" } }
              negative: { node: clip.encode, in: { clip: model.clip, tokens: neg_tokens.tokens } }
              image: { node: image.load, with: { path: "{{P(Image(image))}}" } }
              encode_image: { node: image.load, with: { path: "{{P(Image(encode ?? image))}}" } }
              encoded: { node: vae.encode, in: { vae: model.vae, image: encode_image.image } }
              ip2p: { node: conditioning.instruct_pix2pix, in: { positive: positive.conditioning, negative: negative.conditioning, vae: model.vae, image: image.image } }
              noise: { node: latent.noise, with: { seed: 3, width: {{size.ToString(CultureInfo.InvariantCulture)}}, height: {{size.ToString(CultureInfo.InvariantCulture)}} } }
              denoise: { node: unet.denoiser, in: { unet: model.unet } }
              guider: {{guider}}
              sample: { node: diffusion.ksampler, in: { guider: guider.guider, config: model.scheduler_config, latent_image: noise.noise }, with: { seed: 1, steps: 1, sampler: euler, scheduler: normal, add_noise: false } }
              decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }

            """;
    }
}
