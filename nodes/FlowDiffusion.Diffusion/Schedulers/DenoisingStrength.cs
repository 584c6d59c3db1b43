namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>Where an img2img loop enters the schedule for a denoising strength.</summary>
public static class DenoisingStrength
{
    /// <summary>
    /// The index into <c>Timesteps</c> where sampling starts, so that round(steps × strength) solver steps run
    /// (strength 1: the whole schedule; strength 0: none, the index equals the schedule length).
    /// </summary>
    /// <param name="steps">The number of inference steps the schedule was set with.</param>
    /// <param name="strength">The denoising strength in [0, 1].</param>
    /// <param name="order">The scheduler's <c>Order</c> (model calls per solver step).</param>
    public static int StartIndex(int steps, double strength, int order = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(order, 1);
        if (double.IsNaN(strength) || strength < 0 || strength > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(strength), strength, "The denoising strength must lie in [0, 1].");
        }

        // Round, not diffusers' int(): 20 steps at strength 0.33 run 7 steps (6.6), not 6 — what users expect from the slider.
        var solverSteps = (int)Math.Round(steps * strength, MidpointRounding.AwayFromZero);
        var skipped = steps - solverSteps;

        // Second-order schedules hold 2N − 1 entries; the end of the schedule is the same "no steps" index for both.
        return Math.Min(skipped * order, steps * order - (order - 1));
    }
}
