namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>ComfyUI's start/end percent of the schedule as a window of training timesteps.</summary>
internal static class ScheduleWindow
{
    private const float LastTimestep = 999f;

    /// <summary>
    /// Whether <paramref name="timestep"/> lies in the window: a fraction p of the schedule is the training timestep
    /// (1 − p)·999, as ComfyUI's <c>percent_to_sigma</c> maps it, so (1 − end)·999 ≤ t ≤ (1 − start)·999.
    /// </summary>
    public static bool Contains(float start, float end, float timestep) =>
        timestep <= (1 - start) * LastTimestep + 1e-3f && timestep >= (1 - end) * LastTimestep - 1e-3f;
}
