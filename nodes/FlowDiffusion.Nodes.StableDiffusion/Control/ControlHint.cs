using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>
/// One <c>controlnet.apply</c>: the ControlNet (<see cref="ControlNetHandle"/>) or T2I-Adapter (<see cref="T2IAdapterHandle"/>), its control image (batch 1 for every row, or one per row), the strength its
/// residuals are scaled by, and the fraction of the schedule it acts in (ComfyUI's start/end percent: 0 is the first,
/// noisiest step), and whether guess mode scales its residuals (<see cref="ResidualScale"/>).
/// </summary>
/// <remarks>
/// Value equality: the same ControlNet, image (by reference), strength, window and mode applied to the positive and the
/// negative (ComfyUI's ControlNetApplyAdvanced) is one entry of a batched call, so the ControlNet runs once for both.
/// </remarks>
internal sealed record ControlHint(IControlNet Net, Image Image, float Strength, float Start, float End, bool GuessMode = false)
{
    /// <summary>
    /// The factor on residual <paramref name="index"/> of <paramref name="count"/> (the middle block's last): 1 normally; in
    /// guess mode 0.825^(count − 1 − index), the original ControlNet's <c>control_scales</c> (for SD 1.x's 13 residuals the
    /// first gets 0.825¹² ≈ 0.1 and the middle block 1), so the control image dominates less where the prompt is absent.
    /// </summary>
    public double ResidualScale(int index, int count) => GuessMode ? Math.Pow(0.825, count - 1 - index) : 1.0;

    /// <summary>Whether the hint acts at <paramref name="timestep"/> (<see cref="ScheduleWindow.Contains"/>).</summary>
    public bool ActsAt(float timestep) => ScheduleWindow.Contains(Start, End, timestep);
}
