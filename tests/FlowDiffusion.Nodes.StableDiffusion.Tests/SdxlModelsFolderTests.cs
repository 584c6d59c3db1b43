using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// Issue 20's "done when", from YAML: an SDXL checkpoint and an SDXL LoRA dropped into a models folder (checkpoints/,
/// loras/) run the shipped sdxl-txt2img, sdxl-img2img and sdxl-inpaint workflows with the LoRA in their lora slot; the
/// LoRA reaches the UNet and both text encoders (its numbers are pinned against torch in SdxlLoraTests) and changes the
/// picture, and the empty slot passes the checkpoint through unchanged.
/// </summary>
public sealed class SdxlModelsFolderTests : IDisposable
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny");
    private readonly string _models = Path.Combine(Path.GetTempPath(), "fd-sdxl-models-" + Guid.NewGuid().ToString("N"), "models");

    public SdxlModelsFolderTests()
    {
        Copy(Path.Combine(Data, "sdxl-fp16.safetensors"), Checkpoint);
        Copy(Path.Combine(Data, "lora", "kohya-a.safetensors"), Lora);
    }

    private string Checkpoint => Path.Combine(_models, "checkpoints", "sdxl-tiny.safetensors");

    private string Lora => Path.Combine(_models, "loras", "sdxl-a.safetensors");

    public void Dispose()
    {
        var home = Path.GetDirectoryName(_models)!;
        if (Directory.Exists(home)) Directory.Delete(home, recursive: true);
    }

    [Theory]
    [InlineData("sdxl-txt2img.yaml")]
    [InlineData("sdxl-img2img.yaml")]
    [InlineData("sdxl-inpaint.yaml")]
    public async Task Sdxl_checkpoint_in_models_checkpoints_runs_the_workflow_with_a_lora_that_changes_the_picture(string workflow)
    {
        var withLora = (await SdEngine.Shared.RunFileAsync(workflow, Inputs(workflow, Lora))).AssertCompleted();
        var without = (await SdEngine.Shared.RunFileAsync(workflow, Inputs(workflow, ""))).AssertCompleted();

        var message = withLora.Events.OfType<NodeProgressed>().Last(e => e.NodeId == "lora" && e.Progress.Message is not null).Progress.Message;
        Assert.Contains("sdxl-a.safetensors (kohya): matched 42 of 44 keys (9 UNet, 6 text-encoder weights)", message);
        var image = withLora.Image();
        Assert.Equal((1, 64, 64), (image.Batch, image.Height, image.Width));
        Assert.All(image.Pixels.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0f and <= 1f));
        var difference = image.Pixels.ToArray().Zip(without.Image().Pixels.ToArray()).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(difference > 1e-3, $"the LoRA changed the picture by {difference} only");
    }

    private Dictionary<string, object?> Inputs(string workflow, string lora)
    {
        var inputs = new Dictionary<string, object?>
        {
            ["model"] = Checkpoint,
            ["lora"] = lora,
            ["lora_strength"] = "0.8",
            ["tokenizer_folder"] = "models/tiny-sd/tokenizer",
            ["prompt"] = "a red circle",
            ["negative"] = "blue",
            ["steps"] = "3",
            ["cfg"] = "5",
            ["width"] = "64",
            ["height"] = "64",
        };
        if (workflow != "sdxl-txt2img.yaml") inputs["image"] = "workflows/assets/landscape.png";
        if (workflow == "sdxl-inpaint.yaml") inputs["mask"] = "workflows/assets/mask.png";
        return inputs;
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
    }
}
