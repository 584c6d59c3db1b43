using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Tests;

/// <summary>
/// The shipped recipe workflows from the command line with only .safetensors files, every part given with --set:
/// checkpoint, two LoRAs, embeddings, a swapped VAE and CLIP skip 2 (the numbers are pinned against torch in
/// FlowDiffusion.Nodes.StableDiffusion.Tests' RecipeWorkflowTests; this is the CLI's path to them).
/// </summary>
public sealed class RecipeRunTests : IDisposable
{
    private static readonly string Data = Path.Combine(Cli.RepoRoot, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-cli-recipe-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Theory]
    [InlineData("recipe-txt2img")]
    [InlineData("recipe-img2img")]
    [InlineData("recipe-inpaint")]
    public void A_recipe_workflow_runs_with_a_checkpoint_two_loras_embeddings_a_vae_and_clip_skip_2_set_on_the_command_line(string workflow)
    {
        var outputs = Path.Combine(_scratch, "out");
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_CACHE"] = Path.Combine(_scratch, "cache") };
        var (code, stdout, stderr) = Cli.RunWith(environment, "run", $"workflows/{workflow}.yaml",
            "--set", "model=" + Path.Combine(Data, "ldm-fp16.safetensors"),
            "--set", "tokenizer_folder=models/tiny-sd/tokenizer",
            "--set", "lora_1=" + Path.Combine(Data, "lora", "kohya-a.safetensors"), "--set", "lora_1_strength=0.8",
            "--set", "lora_2=" + Path.Combine(Data, "lora", "peft-b.safetensors"), "--set", "lora_2_strength=0.6",
            "--set", "vae=" + Path.Combine(Data, "vae", "swapped-vae.safetensors"),
            "--set", "embeddings=" + Path.Combine(Data, "embeddings"),
            "--set", "clip_skip=2",
            "--set", "prompt=embedding:style-a1111 a sp", "--set", "negative=embedding:one-clip-l",
            "--set", "steps=2", "--set", "width=64", "--set", "height=64",
            "--out", outputs, "--json");
        Assert.True(code == 0, stderr);
        var result = JsonNode.Parse(stdout)!;
        Assert.Equal("completed", result["status"]!.GetValue<string>());
        var png = Assert.Single(result["outputs"]!.AsArray())!.GetValue<string>();
        Assert.StartsWith(workflow, Path.GetFileName(png));
        Assert.True(new FileInfo(png).Length > 100);
        // Both LoRA nodes ran (neither was skipped as an empty slot); the checkpoint and the VAE were converted into the given cache.
        var nodes = result["nodes"]!.AsArray().Select(n => n!["node"]!.GetValue<string>()).ToList();
        Assert.Contains("lora_1", nodes);
        Assert.Contains("lora_2", nodes);
        var prepared = Directory.GetDirectories(Path.Combine(_scratch, "cache", "checkpoints")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, prepared.Count);
        Assert.StartsWith("ldm-fp16-", prepared[0]);
        Assert.StartsWith("vae-swapped-vae-", prepared[1]);
    }

    [Fact]
    public void The_recipe_names_the_missing_checkpoint_when_run_with_its_defaults_and_no_models()
    {
        var (code, _, stderr) = Cli.Run("run", "workflows/recipe-txt2img.yaml", "--out", Path.Combine(_scratch, "out"));
        Assert.NotEqual(0, code);
        Assert.Contains("v1-5-pruned-emaonly.safetensors", stderr);
    }
}
