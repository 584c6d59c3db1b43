using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Tests;

/// <summary>
/// workflows/sdxl-refiner.yaml from the command line on the tiny SDXL base and refiner, every model and split set with
/// --set (the numbers are pinned against torch in FlowDiffusion.Nodes.StableDiffusion.Tests' SdxlRefinerHandoffTests;
/// this is the CLI's path to them): both checkpoints converted, the base stopping and the refiner starting at the split.
/// </summary>
public sealed class SdxlRefinerRunTests : IDisposable
{
    private static readonly string Data = Path.Combine(Cli.RepoRoot, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-cli-refiner-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void Sdxl_refiner_workflow_runs_base_then_refiner_with_models_and_split_set_on_the_command_line()
    {
        var outputs = Path.Combine(_scratch, "out");
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_CACHE"] = Path.Combine(_scratch, "cache") };
        var (code, stdout, stderr) = Cli.RunWith(environment, "run", "workflows/sdxl-refiner.yaml",
            "--set", "model=" + Path.Combine(Data, "sdxl-tiny", "sdxl-fp16.safetensors"),
            "--set", "refiner=" + Path.Combine(Data, "sdxl-refiner-tiny", "refiner-fp16.safetensors"),
            "--set", "tokenizer_folder=models/tiny-sd/tokenizer",
            "--set", "prompt=a red circle", "--set", "negative=blue",
            "--set", "steps=10", "--set", "switch_at=0.7", "--set", "aesthetic_score=7",
            "--set", "width=64", "--set", "height=64",
            "--out", outputs, "--json");
        Assert.True(code == 0, stderr);
        var result = JsonNode.Parse(stdout)!;
        Assert.Equal("completed", result["status"]!.GetValue<string>());
        var png = Assert.Single(result["outputs"]!.AsArray())!.GetValue<string>();
        Assert.StartsWith("sdxl_refiner", Path.GetFileName(png));
        Assert.True(new FileInfo(png).Length > 100);
        var nodes = result["nodes"]!.AsArray().Select(n => n!["node"]!.GetValue<string>()).ToList();
        Assert.Contains("base", nodes);
        Assert.Contains("refine", nodes);
        var prepared = Directory.GetDirectories(Path.Combine(_scratch, "cache", "checkpoints")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, prepared.Count);
        Assert.StartsWith("refiner-fp16-", prepared[0]);
        Assert.StartsWith("sdxl-fp16-", prepared[1]);
    }
}
