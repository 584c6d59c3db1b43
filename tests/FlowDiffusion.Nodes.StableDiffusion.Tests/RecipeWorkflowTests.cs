using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// The shipped recipe workflows (workflows/recipe-*.yaml) with only .safetensors files — the tiny SD 1.x checkpoint, two
/// LoRAs (kohya and PEFT), the embeddings folder, a swapped VAE and CLIP skip 2 — against torch running the whole
/// txt2img recipe (tools/reference/make_recipe.py: LoRAs merged offline, embedding vectors in place of token embeddings,
/// penultimate layer then the final norm, CFG, diffusers' Euler, torch.randn noise, the swapped VAE).
/// </summary>
public sealed class RecipeWorkflowTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");

    /// <summary>The recipe's inputs as a user gives them with --set, at make_recipe.py's values.</summary>
    internal static Dictionary<string, object?> Inputs() => new()
    {
        ["model"] = Path.Combine(Data, "ldm-fp16.safetensors"),
        ["tokenizer_folder"] = "models/tiny-sd/tokenizer",
        ["vae"] = Path.Combine(Data, "vae", "swapped-vae.safetensors"),
        ["lora_1"] = Path.Combine(Data, "lora", "kohya-a.safetensors"),
        ["lora_1_strength"] = "0.8",
        ["lora_2"] = Path.Combine(Data, "lora", "peft-b.safetensors"),
        ["lora_2_strength"] = "0.6",
        ["embeddings"] = Path.Combine(Data, "embeddings"),
        ["prompt"] = "embedding:style-a1111 a sp",
        ["negative"] = "embedding:one-clip-l",
        ["seed"] = "7",
        ["steps"] = "4",
        ["cfg"] = "6",
        ["width"] = "64",
        ["height"] = "64",
    };

    [Fact]
    public async Task Recipe_txt2img_with_two_loras_embeddings_a_swapped_vae_and_clip_skip_2_draws_what_torch_draws()
    {
        // A fresh engine, so the LoRA nodes run (and report) rather than coming from another test's cache.
        using var engine = new SdEngine();
        var run = (await engine.RunFileAsync("recipe-txt2img.yaml", Inputs())).AssertCompleted();

        // The prompts name three embeddings (ComfyUI syntax and A1111's bare name) and one plain word.
        Assert.Equal(Ints("recipe.positive_ids"), Assert.IsType<Tokens>(run.Result.Output("positive_tokens", "tokens")).Chunks.Single().Ids);
        Assert.Equal(Ints("recipe.negative_ids"), Assert.IsType<Tokens>(run.Result.Output("negative_tokens", "tokens")).Chunks.Single().Ids);

        AssertClose(Ref("recipe.positive"), Assert.IsType<Conditioning>(run.Result.Output("positive", "conditioning")).Embeddings.ToArray(), 1e-4, "positive conditioning");
        AssertClose(Ref("recipe.negative"), Assert.IsType<Conditioning>(run.Result.Output("negative", "conditioning")).Embeddings.ToArray(), 1e-4, "negative conditioning");
        // The latents grow to |x| ≈ 15 on random weights; compare them relative to their size.
        var latent = Ref("recipe.latent");
        var scale = latent.Max(MathF.Abs);
        AssertClose(latent, run.Latent().Values.ToArray(), 1e-4 * scale, "final latents");
        AssertClose(Ref("recipe.image"), run.Image().Pixels.ToArray(), 2e-3, "decoded image");

        Assert.Contains("matched 28 of 30 keys", ProgressOf(run, "lora_1"));
        Assert.Contains("matched 8 of 8 keys", ProgressOf(run, "lora_2"));
    }

    [Fact]
    public async Task Each_part_of_the_recipe_changes_the_image_so_none_can_be_silently_skipped()
    {
        var full = (await SdEngine.Shared.RunFileAsync("recipe-txt2img.yaml", Inputs())).Image().Pixels.ToArray();
        foreach (var (input, value) in new (string, object?)[] { ("lora_1", ""), ("lora_2", ""), ("vae", ""), ("clip_skip", "1"), ("prompt", "a") })
        {
            var inputs = Inputs();
            inputs[input] = value;
            var other = (await SdEngine.Shared.RunFileAsync("recipe-txt2img.yaml", inputs)).AssertCompleted().Image().Pixels.ToArray();
            Assert.True(full.Zip(other, (a, b) => MathF.Abs(a - b)).Max() > 0.05, $"{input} = '{value}' drew the same image");
        }
    }

    [Fact]
    public async Task Recipe_img2img_and_inpaint_run_and_inpaint_keeps_the_latents_outside_the_mask()
    {
        var img2img = (await SdEngine.Shared.RunFileAsync("recipe-img2img.yaml", Inputs())).AssertCompleted();
        Assert.Equal((64, 64), (img2img.Image().Width, img2img.Image().Height));

        var inpaint = (await SdEngine.Shared.RunFileAsync("recipe-inpaint.yaml", Inputs())).AssertCompleted();
        var mask = Assert.IsType<Mask>(inpaint.Result.Output("mask", "mask")).Values.ToArray();
        var original = Assert.IsType<Latent>(inpaint.Result.Output("prepare", "latent_image")).Values.ToArray();
        var result = inpaint.Latent().Values.ToArray();
        var kept = 0;
        for (var y = 0; y < 8; y++)
        {
            for (var x = 0; x < 8; x++)
            {
                var block = Enumerable.Range(0, 64).Select(i => mask[(y * 8 + i / 8) * 64 + x * 8 + i % 8]);
                if (block.Any(v => v > 0)) continue;
                kept++;
                for (var c = 0; c < 4; c++)
                {
                    var at = (c * 8 + y) * 8 + x;
                    Assert.True(Math.Abs(result[at] - original[at]) < 1e-4, $"latent ({c}, {y}, {x}) outside the mask changed");
                }
            }
        }
        Assert.True(kept > 0 && kept < 64, $"{kept} of 64 latent pixels lie wholly outside the mask");
    }

    private static string ProgressOf(SdRun run, string node) =>
        run.Events.OfType<NodeProgressed>().Last(e => e.NodeId == node && e.Progress.Message is not null).Progress.Message!;

    private static float[] Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "recipe-reference.safetensors"));
        return file.ReadFloat32(name);
    }

    private static int[] Ints(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "recipe-reference.safetensors"));
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
