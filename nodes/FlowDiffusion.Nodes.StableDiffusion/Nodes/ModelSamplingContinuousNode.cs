using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>ComfyUI's ModelSamplingContinuousEDM and ModelSamplingContinuousV: a sigma range in place of the training betas.</summary>
[Node("model.sampling_continuous", "1.0.0", Category = "loaders", Title = "Model Sampling (Continuous)",
    Description = "Sets a continuous noise schedule and what the model predicts, as ComfyUI's ModelSamplingContinuousEDM (schedule edm: the UNet's timestep is ¼·ln σ) and ModelSamplingContinuousV (schedule v, e.g. CosXL: 2/π·atan σ): the model's sigmas are 1000 log-spaced between sigma_min and sigma_max, which the schedulers read in place of the training schedule. prediction_type edm uses σ_data 0.5 (Karras et al.'s preconditioning), epsilon and v_prediction σ_data 1. Feed its config to diffusion.ksampler in place of the loader's.")]
public sealed class ModelSamplingContinuousNode : INode
{
    /// <summary>The model's scheduler configuration.</summary>
    [Input(Description = "The model's scheduler configuration (model.load's scheduler_config); its other settings are kept.")]
    public SchedulerConfigSource? Config { get; set; }

    /// <summary>The timestep mapping.</summary>
    [Parameter(Description = "The UNet's timestep for a sigma: edm (¼·ln σ, ModelSamplingContinuousEDM) or v (2/π·atan σ, ModelSamplingContinuousV).", Choices = ["edm", "v"])]
    public string Schedule { get; set; } = "edm";

    /// <summary>What the UNet predicts.</summary>
    [Parameter(Description = "What the UNet predicts: epsilon (ComfyUI's eps), v_prediction, or edm (Karras et al.'s F, σ_data 0.5).", Choices = ["epsilon", "v_prediction", "edm"])]
    public string PredictionType { get; set; } = "v_prediction";

    /// <summary>The largest sigma.</summary>
    [Parameter(Description = "The largest sigma (above sigma_min).", Min = 0, Max = 1000, Step = 0.001)]
    public double SigmaMax { get; set; } = 120;

    /// <summary>The smallest sigma.</summary>
    [Parameter(Description = "The smallest sigma (above 0).", Min = 0, Max = 1000, Step = 0.001)]
    public double SigmaMin { get; set; } = 0.002;

    /// <summary>The changed configuration.</summary>
    [Output(Description = "The scheduler configuration with the continuous sampling and prediction type set.")]
    public SchedulerConfigSource? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (!(SigmaMin > 0) || !(SigmaMax > SigmaMin) || SigmaMax > 1000)
            throw new ArgumentException($"sigma_min and sigma_max must satisfy 0 < sigma_min < sigma_max ≤ 1000, got {SigmaMin.ToString(CultureInfo.InvariantCulture)} and {SigmaMax.ToString(CultureInfo.InvariantCulture)}: a log-spaced table needs a positive, increasing range.");
        JsonObject json;
        try
        {
            json = JsonNode.Parse(Config!.Json) as JsonObject ?? throw new JsonException("not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"the scheduler configuration{(Config!.Path is { } path ? $" '{path}'" : "")} is not valid JSON: {e.Message}", e);
        }

        json["model_sampling"] = Schedule == "v" ? ContinuousModelSampling.VName : ContinuousModelSampling.EdmName;
        json["sigma_min"] = SigmaMin;
        json["sigma_max"] = SigmaMax;
        json["sigma_data"] = PredictionType == "edm" ? 0.5 : 1.0;
        json["prediction_type"] = PredictionType;
        Result = new SchedulerConfigSource(json.ToJsonString(), null);
        return Task.CompletedTask;
    }
}
