using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Tests;

/// <summary>
/// An SDXL checkpoint and an SDXL LoRA dropped into a models folder (checkpoints/, loras/) run the shipped sdxl-txt2img,
/// sdxl-img2img and sdxl-inpaint workflows from the command line with the LoRA set in their lora slot (the LoRA's numbers
/// are pinned against torch in FlowDiffusion.Nodes.StableDiffusion.Tests' SdxlLoraTests; this is the CLI's path to them).
/// </summary>
public sealed class SdxlWorkflowRunTests : IDisposable
{
    private static readonly string Data = Path.Combine(Cli.RepoRoot, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny");
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-cli-sdxl-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void Sdxl_checkpoint_in_models_checkpoints_runs_txt2img_img2img_and_inpaint_with_a_lora_from_the_command_line()
    {
        var checkpoint = Copy(Path.Combine(Data, "sdxl-fp16.safetensors"), Path.Combine(_scratch, "models", "checkpoints", "sdxl-tiny.safetensors"));
        var lora = Copy(Path.Combine(Data, "lora", "kohya-a.safetensors"), Path.Combine(_scratch, "models", "loras", "sdxl-a.safetensors"));
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_CACHE"] = Path.Combine(_scratch, "cache") };
        foreach (var workflow in new[] { "sdxl-txt2img", "sdxl-img2img", "sdxl-inpaint" })
        {
            var (code, stdout, stderr) = Cli.RunWith(environment, "run", $"workflows/{workflow}.yaml",
                "--set", "model=" + checkpoint, "--set", "lora=" + lora, "--set", "lora_strength=0.8",
                "--set", "tokenizer_folder=models/tiny-sd/tokenizer", "--set", "prompt=a red circle",
                "--set", "steps=2", "--set", "cfg=5", "--set", "width=64", "--set", "height=64",
                "--out", Path.Combine(_scratch, "out-" + workflow), "--json");

            Assert.True(code == 0, $"{workflow}: {stderr}");
            var result = JsonNode.Parse(stdout)!;
            Assert.Equal("completed", result["status"]!.GetValue<string>());
            var png = Assert.Single(result["outputs"]!.AsArray())!.GetValue<string>();
            Assert.True(new FileInfo(png).Length > 100);
            // The LoRA node matched the kohya file's UNet and both towers' keys (one module the model lacks is named).
            Assert.Contains("sdxl-a.safetensors (kohya): matched 42 of 44 keys (9 UNet, 6 text-encoder weights)", stderr);
        }
    }

    private static string Copy(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
        return to;
    }
}
