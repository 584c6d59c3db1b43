using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// VAE swap: vae.load (and model.load's vae_path) with a standalone VAE in the LDM layout without prefix (as
/// vae-ft-mse-840000-ema-pruned ships), a diffusers VAE folder and a diffusers-ONNX folder, through real ONNX Runtime
/// sessions, against the torch reference (tools/reference/make_vae.py, make_sd1_checkpoints.py).
/// </summary>
public sealed class VaeSwapTests
{
    private const float Scale = 0.18215f;
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "ldm-fp16.safetensors");
    private static readonly string Swapped = Path.Combine(Data, "vae", "swapped-vae.safetensors");

    [Fact]
    public async Task A_swapped_ldm_vae_decodes_and_encodes_as_torch_does_and_unlike_the_checkpoints_own()
    {
        var run = await RunAsync($"""
              vae: {"{"} node: vae.load, with: {"{"} path: "{Swapped}" {"}"} {"}"}
              swapped: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer, vae_path: "{Swapped}" {"}"} {"}"}
            """);
        var vae = Assert.IsAssignableFrom<IVae>(run.Result.Output("vae", "vae"));
        var own = Assert.IsAssignableFrom<IVae>(run.Result.Output("model", "vae"));
        var viaModel = Assert.IsAssignableFrom<IVae>(run.Result.Output("swapped", "vae"));

        var decoded = await DecodeAsync(vae);
        AssertClose(ImageOf(Ref("vae/reference.safetensors", "swapped.decoded")), decoded, 1e-4, "swapped VAE decode");
        var ownDecoded = await DecodeAsync(own);
        AssertClose(ImageOf(Ref("reference.safetensors", "vae.decoded")), ownDecoded, 1e-4, "the checkpoint's own VAE decode");
        Assert.True(decoded.Zip(ownDecoded, (a, b) => Math.Abs(a - b)).Max() > 0.1, "the swapped VAE should decode differently from the checkpoint's");
        Assert.Equal(decoded, await DecodeAsync(viaModel));

        var mean = Ref("vae/reference.safetensors", "swapped.mean");
        AssertClose(mean.Select(v => v * Scale).ToArray(), await EncodeAsync(vae), 1e-4, "swapped VAE encode (mean × scaling factor)");
    }

    [Fact]
    public async Task A_diffusers_vae_folder_and_a_diffusers_onnx_folder_load_as_vaes()
    {
        var run = await RunAsync($"""
              diffusers: {"{"} node: vae.load, with: {"{"} path: "{Path.Combine(Data, "diffusers", "vae")}" {"}"} {"}"}
              onnx: {"{"} node: vae.load, with: {"{"} path: models/tiny-sd {"}"} {"}"}
              tiny: {"{"} node: model.load, with: {"{"} path: models/tiny-sd {"}"} {"}"}
            """);
        var diffusers = Assert.IsAssignableFrom<IVae>(run.Result.Output("diffusers", "vae"));
        AssertClose(ImageOf(Ref("reference.safetensors", "vae.decoded")), await DecodeAsync(diffusers), 1e-4, "diffusers-key VAE decode");

        var latent = new Latent(1, 4, 8, 8, [.. Enumerable.Range(0, 256).Select(i => MathF.Sin(i * 0.37f))]);
        var onnx = await Assert.IsAssignableFrom<IVae>(run.Result.Output("onnx", "vae")).DecodeAsync(latent, CancellationToken.None);
        var tiny = await Assert.IsAssignableFrom<IVae>(run.Result.Output("tiny", "vae")).DecodeAsync(latent, CancellationToken.None);
        Assert.Equal(tiny.Pixels.ToArray(), onnx.Pixels.ToArray());
    }

    [Fact]
    public async Task A_file_that_is_no_vae_fails_the_node_naming_the_file()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: vae
            nodes:
              vae: {"{"} node: vae.load, with: {"{"} path: "{Path.Combine(Data, "lora", "kohya-a.safetensors")}" {"}"} {"}"}
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Equal("vae", run.Result.FailedNode);
        Assert.Contains("kohya-a.safetensors", run.Result.Error);
        Assert.Contains("VAE", run.Result.Error);
    }

    private static async Task<SdRun> RunAsync(string nodes)
    {
        var yaml = $"""
            flowdiffusion: 1
            name: vae
            nodes:
              model: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {nodes}
            """;
        return (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
    }

    // The reference latent_sample is what the decoder takes; the VAE handle takes latents times the scaling factor.
    private static async Task<float[]> DecodeAsync(IVae vae)
    {
        var latent = Ref("reference.safetensors", "vae.latent_sample").Select(v => v * Scale).ToArray();
        var image = await vae.DecodeAsync(new Latent(1, 4, 4, 4, latent), CancellationToken.None);
        return image.Pixels.ToArray();
    }

    private static async Task<float[]> EncodeAsync(IVae vae)
    {
        var pixels = Ref("reference.safetensors", "vae.image").Select(v => v * 0.5f + 0.5f).ToArray();
        var latent = await vae.EncodeAsync(new Image(1, 32, 32, pixels), CancellationToken.None);
        return latent.Values.ToArray();
    }

    // The decoder's [-1, 1] output as the handle gives it: x · 0.5 + 0.5 clamped to [0, 1].
    private static float[] ImageOf(float[] decoded) => [.. decoded.Select(v => Math.Clamp(v * 0.5f + 0.5f, 0f, 1f))];

    private static float[] Ref(string file, string name)
    {
        using var reference = SafetensorsFile.Open(Path.Combine(Data, file));
        return reference.ReadFloat32(name);
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (a, b) => (double)Math.Abs(a - b)).Max();
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance}.");
        Assert.Contains(expected, v => Math.Abs(v) > 0.1f);
    }
}
