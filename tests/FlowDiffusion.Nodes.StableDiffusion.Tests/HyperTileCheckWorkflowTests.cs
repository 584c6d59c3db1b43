namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// bench/hypertile-check.yaml, the workflow docs/benchmarks.md times HyperTile with, runs: on the tiny checkpoint at a
/// size and depth where HyperTile tiles (128 px, max_depth 1: the 8 × 8 token grid of its attention level cut in 2 × 2),
/// both pipelines complete and the tiled one draws another image.
/// </summary>
public sealed class HyperTileCheckWorkflowTests
{
    [Fact]
    public async Task The_benchmark_workflow_runs_and_its_tiled_pipeline_draws_another_image()
    {
        var run = (await SdEngine.Shared.RunFileAsync(Path.Combine("..", "bench", "hypertile-check.yaml"), new Dictionary<string, object?>
        {
            ["model"] = ModelMergeTests.First,
            ["tokenizer"] = "models/tiny-sd/tokenizer",
            ["size"] = "128",
            ["steps"] = "1",
            ["tile_size"] = "32",
            ["max_depth"] = "1",
        })).AssertCompleted();
        var plain = run.Image("plain_decode").ToArray();
        var tiled = run.Image("tiled_decode").ToArray();
        Assert.Equal(plain.Length, tiled.Length);
        Assert.True(plain.Zip(tiled, (a, b) => Math.Abs(a - b)).Max() > 1e-3, "HyperTile changed nothing");
    }
}
