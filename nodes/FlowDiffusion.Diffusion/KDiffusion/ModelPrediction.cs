using FlowDiffusion.Diffusion.Schedulers;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// What a model predicts and how ComfyUI turns it into x₀ (its EPS, V_PREDICTION and EDM <c>calculate_input</c> /
/// <c>calculate_denoised</c>): the UNet reads x·c_in with c_in = 1/√(σ² + σ_data²), and x₀ = c_skip·x + c_out·output,
/// where ε gives c_skip 1 and c_out −σ, v gives c_skip σ_data²/(σ² + σ_data²) and c_out −σ·σ_data/√(σ² + σ_data²), and
/// EDM the same with c_out positive.
/// </summary>
/// <param name="Kind">What the model predicts.</param>
/// <param name="SigmaData">σ_data, the data's standard deviation (1 for SD's ε and v models, 0.5 for EDM ones).</param>
public sealed record ModelPrediction(PredictionKind Kind, float SigmaData)
{
    /// <summary>The prediction a scheduler configuration declares: <c>prediction_type</c> (epsilon, v_prediction or edm) and <c>sigma_data</c> (default 1).</summary>
    /// <param name="config">The model's scheduler configuration.</param>
    /// <param name="consumer">The node that asks, for the error message.</param>
    /// <exception cref="ArgumentException">Another prediction type, or sigma_data not above 0.</exception>
    public static ModelPrediction For(SchedulerConfig config, string consumer)
    {
        ArgumentNullException.ThrowIfNull(config);
        var kind = config.PredictionType switch
        {
            null or "epsilon" => PredictionKind.Epsilon,
            "v_prediction" => PredictionKind.V,
            "edm" => PredictionKind.Edm,
            var other => throw new ArgumentException($"prediction_type '{other}' is not supported by {consumer}; use epsilon, v_prediction or edm models."),
        };
        var sigmaData = config.SigmaData ?? 1;
        if (!(sigmaData > 0) || !double.IsFinite(sigmaData))
            throw new ArgumentException($"sigma_data must be a number above 0, got {sigmaData.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        return new ModelPrediction(kind, (float)sigmaData);
    }

    /// <summary>c_in: the factor on x in the UNet's input.</summary>
    /// <param name="sigma">The noise level.</param>
    public float InputScale(float sigma) => 1 / MathF.Sqrt(sigma * sigma + SigmaData * SigmaData);

    /// <summary>c_skip and c_out at <paramref name="sigma"/>.</summary>
    /// <param name="sigma">The noise level.</param>
    public (float Skip, float Out) Scalings(float sigma)
    {
        if (Kind == PredictionKind.Epsilon) return (1, -sigma);
        var data = SigmaData * SigmaData;
        var variance = sigma * sigma + data;
        var output = sigma * SigmaData / MathF.Sqrt(variance);
        return (data / variance, Kind == PredictionKind.V ? -output : output);
    }

    /// <summary>x₀ from the model's output at <paramref name="sigma"/>.</summary>
    /// <param name="input">x, the unscaled latents the model saw.</param>
    /// <param name="output">The model's prediction.</param>
    /// <param name="sigma">The noise level.</param>
    public float[] Denoise(ReadOnlySpan<float> input, ReadOnlySpan<float> output, float sigma)
    {
        var denoised = new float[input.Length];
        if (Kind == PredictionKind.Epsilon)
        {
            for (var i = 0; i < denoised.Length; i++) denoised[i] = input[i] - output[i] * sigma;
            return denoised;
        }

        // x·σ_data²/(σ² + σ_data²) rather than x·c_skip: with σ_data 1 it is the division SD's v models have always had.
        var data = SigmaData * SigmaData;
        var variance = sigma * sigma + data;
        var cOut = (Kind == PredictionKind.V ? -sigma : sigma) * SigmaData / MathF.Sqrt(variance);
        for (var i = 0; i < denoised.Length; i++) denoised[i] = input[i] * data / variance + output[i] * cOut;
        return denoised;
    }
}

/// <summary>What a UNet predicts.</summary>
public enum PredictionKind
{
    /// <summary>The noise ε (ComfyUI's EPS).</summary>
    Epsilon,

    /// <summary>v = α·ε − σ·x₀ (ComfyUI's V_PREDICTION).</summary>
    V,

    /// <summary>Karras et al.'s F-prediction, x₀ = c_skip·x + c_out·F with c_out positive (ComfyUI's EDM).</summary>
    Edm,
}
