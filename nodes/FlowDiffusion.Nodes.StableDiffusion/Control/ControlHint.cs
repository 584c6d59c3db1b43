using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>
/// One <c>controlnet.apply</c>: the ControlNet, its control image (batch 1 for every row, or one per row), the strength its
/// residuals are scaled by, and the fraction of the schedule it acts in (ComfyUI's start/end percent: 0 is the first,
/// noisiest step).
/// </summary>
internal sealed record ControlHint(ControlNetHandle Net, Image Image, float Strength, float Start, float End)
{
    private const float TrainingSteps = 1000f;

    /// <summary>
    /// Whether the hint acts at <paramref name="timestep"/>: a fraction p of the schedule is the training timestep
    /// (1 − p)·999, as ComfyUI's <c>percent_to_sigma</c> maps it, so the hint acts for (1 − end)·999 ≤ t ≤ (1 − start)·999.
    /// </summary>
    public bool ActsAt(float timestep)
    {
        var last = TrainingSteps - 1;
        return timestep <= (1 - Start) * last + 1e-3f && timestep >= (1 - End) * last - 1e-3f;
    }
}
