using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>model.load's prediction_type for a checkpoint, which the file cannot tell: it reaches the scheduler configuration.</summary>
public sealed class CheckpointPredictionTypeTests
{
    private static readonly string Checkpoint = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny", "ldm-fp16.safetensors");

    [Fact]
    public async Task A_checkpoint_loaded_as_v_prediction_gets_a_v_prediction_scheduler_config_and_the_default_stays_epsilon()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: prediction
            nodes:
              eps: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              v: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer, prediction_type: v_prediction {"}"} {"}"}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        var epsilon = Assert.IsType<SchedulerConfigSource>(run.Result.Output("eps", "scheduler_config"));
        var v = Assert.IsType<SchedulerConfigSource>(run.Result.Output("v", "scheduler_config"));
        Assert.Contains("\"prediction_type\": \"epsilon\"", epsilon.Json);
        Assert.Contains("\"prediction_type\": \"v_prediction\"", v.Json);
        Assert.NotEqual(epsilon.Path, v.Path);
    }
}
