using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>ComfyUI's ModelSamplingDiscrete: says what a model predicts and whether its schedule has zero terminal SNR.</summary>
[Node("model.sampling", "1.0.0", Category = "loaders", Title = "Model Sampling",
    Description = "Sets what the model predicts and its noise schedule, as ComfyUI's ModelSamplingDiscrete: SD's training schedule (scaled_linear betas 0.00085 … 0.012 over 1000 steps) with the prediction type chosen, rescaled to zero terminal SNR when zero_snr is on (the largest sigma then ≈ 4518.8; for v-prediction models trained that way, e.g. with 'ztsnr'). Feed its config to the samplers and schedulers in place of the loader's.")]
public sealed class ModelSamplingNode : INode
{
    /// <summary>The model's scheduler configuration.</summary>
    [Input(Description = "The model's scheduler configuration (model.load's scheduler_config); its other settings are kept.")]
    public SchedulerConfigSource? Config { get; set; }

    /// <summary>What the UNet predicts.</summary>
    [Parameter(Description = "What the UNet predicts: epsilon (ComfyUI's eps) or v_prediction.", Choices = ["epsilon", "v_prediction"])]
    public string PredictionType { get; set; } = "epsilon";

    /// <summary>Zero terminal SNR.</summary>
    [Parameter(Description = "Rescale the schedule to zero terminal SNR (ComfyUI's zsnr, diffusers' rescale_betas_zero_snr).")]
    public bool ZeroSnr { get; set; }

    /// <summary>The changed configuration.</summary>
    [Output(Description = "The scheduler configuration with the prediction type and schedule set.")]
    public SchedulerConfigSource? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        JsonObject json;
        try
        {
            json = JsonNode.Parse(Config!.Json) as JsonObject ?? throw new JsonException("not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"the scheduler configuration{(Config!.Path is { } path ? $" '{path}'" : "")} is not valid JSON: {e.Message}", e);
        }

        // ComfyUI's ModelSamplingDiscrete starts from its default schedule, whatever the model's.
        json.Remove("trained_betas");
        json["beta_schedule"] = "scaled_linear";
        json["beta_start"] = 0.00085;
        json["beta_end"] = 0.012;
        json["num_train_timesteps"] = 1000;
        json["prediction_type"] = PredictionType;
        json["rescale_betas_zero_snr"] = ZeroSnr;
        Result = new SchedulerConfigSource(json.ToJsonString(), null);
        return Task.CompletedTask;
    }
}
