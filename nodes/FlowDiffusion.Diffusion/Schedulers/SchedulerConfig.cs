using System.Text.Json;
using System.Text.Json.Serialization;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// A diffusers scheduler configuration as plain data, as found in a model's <c>scheduler/scheduler_config.json</c>.
/// Absent keys stay <c>null</c> so that every scheduler class applies its own diffusers default; unknown keys are
/// ignored. Override single values with <c>with { }</c>.
/// </summary>
public sealed record SchedulerConfig
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals | JsonNumberHandling.AllowReadingFromString,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>The diffusers class the file was written for (<c>_class_name</c>), e.g. <c>PNDMScheduler</c>.</summary>
    [JsonPropertyName("_class_name")] public string? ClassName { get; init; }

    /// <summary>Number of diffusion steps the model was trained with (diffusers default 1000).</summary>
    [JsonPropertyName("num_train_timesteps")] public int? NumTrainTimesteps { get; init; }

    /// <summary>First beta of the training schedule.</summary>
    [JsonPropertyName("beta_start")] public double? BetaStart { get; init; }

    /// <summary>Last beta of the training schedule.</summary>
    [JsonPropertyName("beta_end")] public double? BetaEnd { get; init; }

    /// <summary><c>linear</c>, <c>scaled_linear</c> or <c>squaredcos_cap_v2</c>.</summary>
    [JsonPropertyName("beta_schedule")] public string? BetaSchedule { get; init; }

    /// <summary>Explicit betas; when set they replace <see cref="BetaSchedule"/>.</summary>
    [JsonPropertyName("trained_betas")] public double[]? TrainedBetas { get; init; }

    /// <summary>Rescale the betas to zero terminal SNR (Lin et al. 2023, "Common Diffusion Noise Schedules … are Flawed").</summary>
    [JsonPropertyName("rescale_betas_zero_snr")] public bool? RescaleBetasZeroSnr { get; init; }

    /// <summary><c>epsilon</c>, <c>v_prediction</c> or <c>sample</c>.</summary>
    [JsonPropertyName("prediction_type")] public string? PredictionType { get; init; }

    /// <summary><c>leading</c>, <c>linspace</c> or <c>trailing</c>; the default differs per class.</summary>
    [JsonPropertyName("timestep_spacing")] public string? TimestepSpacing { get; init; }

    /// <summary>Offset added to "leading" timesteps (SD 1.x uses 1).</summary>
    [JsonPropertyName("steps_offset")] public int? StepsOffset { get; init; }

    /// <summary>DDIM/PNDM: whether the final alpha_bar is 1 instead of alpha_bar[0].</summary>
    [JsonPropertyName("set_alpha_to_one")] public bool? SetAlphaToOne { get; init; }

    /// <summary>PNDM: skip the Runge–Kutta warm-up and start with PLMS.</summary>
    [JsonPropertyName("skip_prk_steps")] public bool? SkipPrkSteps { get; init; }

    /// <summary>Clip the predicted clean sample to ±<see cref="ClipSampleRange"/>.</summary>
    [JsonPropertyName("clip_sample")] public bool? ClipSample { get; init; }

    /// <summary>The clipping bound for <see cref="ClipSample"/> (default 1).</summary>
    [JsonPropertyName("clip_sample_range")] public double? ClipSampleRange { get; init; }

    /// <summary>Dynamic thresholding of the predicted clean sample (Imagen).</summary>
    [JsonPropertyName("thresholding")] public bool? Thresholding { get; init; }

    /// <summary>The quantile used by dynamic thresholding (default 0.995).</summary>
    [JsonPropertyName("dynamic_thresholding_ratio")] public double? DynamicThresholdingRatio { get; init; }

    /// <summary>The upper bound of the dynamic threshold (default 1).</summary>
    [JsonPropertyName("sample_max_value")] public double? SampleMaxValue { get; init; }

    /// <summary>Use the Karras et al. (2022) sigma spacing.</summary>
    [JsonPropertyName("use_karras_sigmas")] public bool? UseKarrasSigmas { get; init; }

    /// <summary>Multistep solver order (DPM-Solver, UniPC, DEIS; default 2).</summary>
    [JsonPropertyName("solver_order")] public int? SolverOrder { get; init; }

    /// <summary>DPM-Solver: <c>dpmsolver++</c>, <c>dpmsolver</c>, <c>sde-dpmsolver++</c>, <c>sde-dpmsolver</c>; DEIS: <c>deis</c>.</summary>
    [JsonPropertyName("algorithm_type")] public string? AlgorithmType { get; init; }

    /// <summary>DPM-Solver: <c>midpoint</c> or <c>heun</c>; UniPC: <c>bh1</c> or <c>bh2</c>; DEIS: <c>logrho</c>.</summary>
    [JsonPropertyName("solver_type")] public string? SolverType { get; init; }

    /// <summary>Use lower-order steps at the end of short schedules.</summary>
    [JsonPropertyName("lower_order_final")] public bool? LowerOrderFinal { get; init; }

    /// <summary>DPM-Solver multistep: take a first-order step at the very end.</summary>
    [JsonPropertyName("euler_at_final")] public bool? EulerAtFinal { get; init; }

    /// <summary><c>zero</c> or <c>sigma_min</c>: the sigma after the last step.</summary>
    [JsonPropertyName("final_sigmas_type")] public string? FinalSigmasType { get; init; }

    /// <summary>DPM-Solver: lambda below which timesteps are cut off (default −∞).</summary>
    [JsonPropertyName("lambda_min_clipped")] public double? LambdaMinClipped { get; init; }

    /// <summary>DDPM variance rule (<c>fixed_small</c>, <c>fixed_small_log</c>, <c>fixed_large</c>, <c>fixed_large_log</c>).</summary>
    [JsonPropertyName("variance_type")] public string? VarianceType { get; init; }

    /// <summary>Euler: <c>linear</c> or <c>log_linear</c> sigma interpolation.</summary>
    [JsonPropertyName("interpolation_type")] public string? InterpolationType { get; init; }

    /// <summary>Euler: <c>discrete</c> or <c>continuous</c> timesteps.</summary>
    [JsonPropertyName("timestep_type")] public string? TimestepType { get; init; }

    /// <summary>UniPC: predict the clean sample (default true).</summary>
    [JsonPropertyName("predict_x0")] public bool? PredictX0 { get; init; }

    /// <summary>UniPC: steps whose corrector is skipped.</summary>
    [JsonPropertyName("disable_corrector")] public int[]? DisableCorrector { get; init; }

    /// <summary>LCM: the steps of the schedule the model was distilled on (default 50).</summary>
    [JsonPropertyName("original_inference_steps")] public int? OriginalInferenceSteps { get; init; }

    /// <summary>LCM: the factor on the timestep in the boundary condition (default 10).</summary>
    [JsonPropertyName("timestep_scaling")] public double? TimestepScaling { get; init; }

    /// <summary>
    /// FlowDiffusion's key for ComfyUI's continuous model samplings: <c>continuous_edm</c> (timestep ¼·ln σ) or
    /// <c>continuous_v</c> (timestep 2/π·atan σ), with <see cref="SigmaMin"/> and <see cref="SigmaMax"/>; absent or
    /// <c>discrete</c>, the training schedule of the betas.
    /// </summary>
    [JsonPropertyName("model_sampling")] public string? ModelSampling { get; init; }

    /// <summary>The smallest sigma of a continuous model sampling (as diffusers' EDM schedulers name it).</summary>
    [JsonPropertyName("sigma_min")] public double? SigmaMin { get; init; }

    /// <summary>The largest sigma of a continuous model sampling.</summary>
    [JsonPropertyName("sigma_max")] public double? SigmaMax { get; init; }

    /// <summary>The data's standard deviation in the model's input and output scalings (default 1; EDM models 0.5).</summary>
    [JsonPropertyName("sigma_data")] public double? SigmaData { get; init; }

    /// <summary>Parses the JSON text of a <c>scheduler_config.json</c>.</summary>
    /// <param name="json">The configuration JSON.</param>
    public static SchedulerConfig FromJson(string json) =>
        JsonSerializer.Deserialize<SchedulerConfig>(json, JsonOptions)
        ?? throw new FormatException("The scheduler configuration is empty (JSON null).");

    /// <summary>Reads a <c>scheduler_config.json</c>, or the one inside a model folder's <c>scheduler/</c>.</summary>
    /// <param name="path">The config file, a <c>scheduler/</c> folder or a model folder.</param>
    public static SchedulerConfig Load(string path)
    {
        var file = path;
        if (Directory.Exists(path))
        {
            file = Path.Combine(path, "scheduler_config.json");
            if (!File.Exists(file)) file = Path.Combine(path, "scheduler", "scheduler_config.json");
        }

        if (!File.Exists(file)) throw new FileNotFoundException($"No scheduler configuration at '{path}'.", file);
        try
        {
            return FromJson(File.ReadAllText(file));
        }
        catch (JsonException e)
        {
            throw new FormatException($"'{file}' is not a valid scheduler configuration: {e.Message}", e);
        }
    }
}
