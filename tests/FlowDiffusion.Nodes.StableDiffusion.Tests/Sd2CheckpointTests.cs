using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// An SD 2.x single file through model.load and workflows/recipe-txt2img.yaml, against torch running the same txt2img
/// (tools/reference/make_sd2_checkpoint.py: OpenCLIP's penultimate layer through ln_final, prompts padded with id 0, CFG 5,
/// diffusers' Euler over 4 linspace steps, torch.randn noise): as the v-prediction model the file's weights say it is, as
/// epsilon when prediction_type overrides it, and with a kohya LoRA (OpenCLIP's fused q/k/v rows among its modules) and a
/// 128-wide textual-inversion embedding.
/// </summary>
public sealed class Sd2CheckpointTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd2-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "sd2-fp16.safetensors");

    private static Dictionary<string, object?> Inputs() => new()
    {
        ["model"] = Checkpoint,
        ["tokenizer_folder"] = "models/tiny-sd/tokenizer",
        ["vae"] = "",
        ["lora_1"] = "",
        ["lora_2"] = "",
        ["embeddings"] = Path.Combine(Data, "no-embeddings"),
        ["clip_skip"] = "1",
        ["prompt"] = "a red circle",
        ["negative"] = "blue",
        ["seed"] = "7",
        ["steps"] = "4",
        ["cfg"] = "5",
        ["width"] = "64",
        ["height"] = "64",
    };

    [Fact]
    public async Task A_768_v_checkpoint_draws_what_torch_draws_with_v_prediction()
    {
        var run = (await SdEngine.Shared.RunFileAsync("recipe-txt2img.yaml", Inputs())).AssertCompleted();
        Assert.Equal(Ints("txt2img.positive_ids"), Assert.IsType<Tokens>(run.Result.Output("positive_tokens", "tokens")).Chunks.Single().Ids);
        Assert.Equal(Ints("txt2img.negative_ids"), Assert.IsType<Tokens>(run.Result.Output("negative_tokens", "tokens")).Chunks.Single().Ids);
        AssertClose(Ref("txt2img.v.positive"), Assert.IsType<Conditioning>(run.Result.Output("positive", "conditioning")).Embeddings.ToArray(), 1e-4, "positive conditioning");
        AssertDraws(run, "v");
        Assert.Equal(768, Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet")).NativeImageSize);
    }

    [Fact]
    public async Task Prediction_type_epsilon_overrides_what_the_weights_say()
    {
        var recipe = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "workflows", "recipe-txt2img.yaml"));
        var yaml = recipe.Replace("      path: $model\n", "      path: $model\n      prediction_type: epsilon\n", StringComparison.Ordinal);
        Assert.NotEqual(recipe, yaml);
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, Inputs())).AssertCompleted();
        AssertDraws(run, "eps");
        Assert.Equal(512, Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet")).NativeImageSize);
    }

    [Fact]
    public async Task A_kohya_lora_and_a_1024_style_embedding_apply_to_the_openclip_tower_and_the_unet()
    {
        var inputs = Inputs();
        inputs["lora_1"] = Path.Combine(Data, "lora", "kohya-a.safetensors");
        inputs["lora_1_strength"] = "0.8";
        inputs["embeddings"] = Path.Combine(Data, "embeddings");
        inputs["prompt"] = "embedding:sd2-style a red circle";
        using var engine = new SdEngine();
        var run = (await engine.RunFileAsync("recipe-txt2img.yaml", inputs)).AssertCompleted();
        Assert.Equal(Ints("txt2img.styled_ids"), Assert.IsType<Tokens>(run.Result.Output("positive_tokens", "tokens")).Chunks.Single().Ids);
        AssertClose(Ref("txt2img.lora.positive"), Assert.IsType<Conditioning>(run.Result.Output("positive", "conditioning")).Embeddings.ToArray(), 1e-4, "positive conditioning");
        AssertDraws(run, "lora");
        // Ten modules; the one in the tower's last layer, which SD 2 never runs, is not in the converted tower.
        var message = run.Events.OfType<NodeProgressed>().Last(e => e.NodeId == "lora_1" && e.Progress.Message is not null).Progress.Message!;
        Assert.Contains("matched 27 of 30 keys", message);
    }

    private static void AssertDraws(SdRun run, string name)
    {
        // The latents grow on random weights; compare them relative to their size.
        var latent = Ref($"txt2img.{name}.latent");
        AssertClose(latent, run.Latent().Values.ToArray(), 1e-4 * Math.Max(1, latent.Max(MathF.Abs)), $"{name} latents");
        AssertClose(Ref($"txt2img.{name}.image"), run.Image().Pixels.ToArray(), 2e-3, $"{name} image");
    }

    private static float[] Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "reference.safetensors"));
        return file.ReadFloat32(name);
    }

    private static int[] Ints(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "reference.safetensors"));
        var raw = file.GetBytes(file.Get(name));
        var values = new int[raw.Length / 8];
        for (var i = 0; i < values.Length; i++) values[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        return values;
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (a, b) => (double)Math.Abs(a - b)).Max();
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance:G4}.");
    }
}
