using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Control;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// Deep Shrink on a UNet handle (unet.deep_shrink): its settings, fed to the steps whose timestep lies in ComfyUI's
/// start/end percent window of the schedule (<see cref="ScheduleWindow"/>); the other steps run the plain UNet.
/// </summary>
/// <param name="Settings">The block, factor and methods.</param>
/// <param name="StartPercent">Where the window starts (0: the first step).</param>
/// <param name="EndPercent">Where it ends (ComfyUI's default 0.35).</param>
internal sealed record DeepShrinkWindow(DeepShrink Settings, float StartPercent, float EndPercent)
{
    /// <summary>
    /// The settings at <paramref name="timestep"/>, or null outside the window. A start of 1 is ComfyUI's sigma 0, which no
    /// model call reaches (the last timestep, 0, still has sigma_min), so that window holds no step.
    /// </summary>
    public DeepShrink? At(float timestep) => StartPercent < 1 && ScheduleWindow.Contains(StartPercent, EndPercent, timestep) ? Settings : null;
}
