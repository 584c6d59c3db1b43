using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints;

/// <summary>
/// What a checkpoint's UNet predicts and whether its schedule has zero terminal SNR. Single files cannot say in general,
/// but some carry markers, read here as ComfyUI reads them: an empty tensor named <c>v_pred</c> for v-prediction (NoobAI-XL
/// v-pred and other v-models), and with it <c>ztsnr</c> for a zero-terminal-SNR schedule.
/// </summary>
/// <param name="PredictionType"><c>epsilon</c> or <c>v_prediction</c>.</param>
/// <param name="ZeroSnr">Whether the schedule is rescaled to zero terminal SNR (diffusers' <c>rescale_betas_zero_snr</c>).</param>
public sealed record CheckpointSampling(string PredictionType, bool ZeroSnr)
{
    /// <summary>The sampling of <paramref name="path"/>: <paramref name="requested"/> (<c>auto</c>, <c>epsilon</c> or
    /// <c>v_prediction</c>), <c>auto</c> resolved from the file's markers (epsilon without them, and for folders).</summary>
    /// <param name="path">A .safetensors checkpoint or a diffusers folder.</param>
    /// <param name="requested">The prediction type asked for.</param>
    public static CheckpointSampling Of(string path, string requested)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (requested is not ("auto" or "epsilon" or "v_prediction"))
            throw new ArgumentException($"prediction type '{requested}' is none of auto, epsilon, v_prediction", nameof(requested));
        if (Directory.Exists(path)) return new(requested == "auto" ? "epsilon" : requested, false);
        using var file = SafetensorsFile.Open(path);
        var vPrediction = file.Tensors.ContainsKey("v_pred");
        var type = requested == "auto" ? (vPrediction ? "v_prediction" : "epsilon") : requested;
        return new(type, type == "v_prediction" && file.Tensors.ContainsKey("ztsnr"));
    }
}
