namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// bench/tome-check.yaml, the workflow docs/benchmarks.md times token merging with, runs: on the tiny SD 2.x checkpoint
/// (attention at full resolution: 128 px is 16 × 16 tokens there) both pipelines complete and the merged one draws another
/// image.
/// </summary>
public sealed class TokenMergeCheckWorkflowTests
{
    [Fact]
    public async Task The_benchmark_workflow_runs_and_its_merged_pipeline_draws_another_image()
    {
        var run = (await SdEngine.Shared.RunFileAsync(Path.Combine("..", "bench", "tome-check.yaml"), new Dictionary<string, object?>
        {
            ["model"] = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd2-tiny", "sd2-fp16.safetensors"),
            ["tokenizer"] = "models/tiny-sd/tokenizer",
            ["size"] = "128",
            ["steps"] = "1",
            ["ratio"] = "0.5",
        })).AssertCompleted();
        var plain = run.Image("plain_decode").ToArray();
        var merged = run.Image("merged_decode").ToArray();
        Assert.Equal(plain.Length, merged.Length);
        Assert.True(plain.Zip(merged, (a, b) => Math.Abs(a - b)).Max() > 1e-3, "token merging changed nothing");
    }
}
