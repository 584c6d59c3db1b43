using System.Globalization;
using FlowDiffusion.Diffusion.KDiffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// The sigmas a sampler walks, as diffusion.ksampler's parameters describe them: explicit sigmas, or one of ComfyUI's
/// schedules computed from the model (steps, denoise, KSampler's dpm_2/uni_pc rule), then KSamplerAdvanced's step
/// window, then ComfyUI's sigma utilities (<see cref="SigmaEdits"/>). latent.add_noise reads the same description.
/// </summary>
internal sealed record SamplerSchedule(string Sigmas, string Scheduler, int Steps, double Denoise, bool DropPenultimateSigma, double BetaAlpha, double BetaBeta,
    int StartStep, int EndStep, bool ReturnWithLeftoverNoise, string Edits)
{
    /// <summary>The sigmas for the model's <paramref name="sampling"/>.</summary>
    /// <param name="sampling">The model's noise schedule; null only with explicit sigmas.</param>
    /// <param name="sampler">The sampler (KSampler's dpm_2 and uni_pc rule reads it).</param>
    /// <param name="minimum">The fewest explicit sigmas taken (a sampler needs 2: one step and its end).</param>
    /// <param name="ordered">Whether explicit sigmas must be strictly falling or rising, as a sampler walks them (AddNoise reads any).</param>
    public float[] Resolve(IModelSampling? sampling, string sampler, int minimum = 2, bool ordered = true) =>
        SigmaEdits.Apply(SigmaSchedules.Window(Schedule(sampling, sampler, minimum, ordered), StartStep, EndStep, forceFullDenoise: !ReturnWithLeftoverNoise), Edits);

    private float[] Schedule(IModelSampling? sampling, string sampler, int minimum, bool ordered)
    {
        if (string.IsNullOrWhiteSpace(Sigmas))
            return SigmaSchedules.WithDenoise(Scheduler, sampling ?? throw new ArgumentException("config: a schedule by name needs the model's scheduler configuration"), Steps, Denoise, DropPenultimateSigma && KSamplers.DiscardsPenultimateSigma(sampler), BetaAlpha, BetaBeta);
        var parts = Sigmas.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length > SigmaEdits.MaxSigmas) throw new ArgumentException($"sigmas: {parts.Length} entries; at most {SigmaEdits.MaxSigmas}");
        var values = new float[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !float.IsFinite(values[i]) || values[i] < 0)
                throw new ArgumentException($"sigmas: entry {i + 1} '{parts[i]}' is not a non-negative number");
        }

        if (ordered && RisingSigmas.CheckOrder(values) is { } order) throw new ArgumentException("sigmas: " + order);
        if (values.Length < minimum) throw new ArgumentException(minimum == 2 ? "sigmas needs at least two entries: one step and the final sigma" : $"sigmas needs at least {minimum} entries");
        return values;
    }
}
