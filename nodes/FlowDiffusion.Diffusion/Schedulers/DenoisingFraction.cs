namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Where a loop stops and starts when the schedule is split by fraction between two models (SDXL's base → refiner
/// hand-off, diffusers' <c>denoising_end</c> / <c>denoising_start</c>). Both sides cut at the discrete timestep
/// round(T − fraction·T) (T = num_train_timesteps; Python's round, halves to even): the first model keeps the timesteps
/// at or above the cutoff, the second those below it — for a second-order scheduler one more, so that it begins with the
/// step the first model's last entry left half done.
/// </summary>
public static class DenoisingFraction
{
    /// <summary>Whether <paramref name="fraction"/> splits the schedule: strictly between 0 and 1 (0 and 1 mean the whole schedule).</summary>
    /// <param name="fraction">denoising_start or denoising_end.</param>
    public static bool Splits(double fraction) => fraction > 0 && fraction < 1;

    /// <summary>The discrete timestep round(T − fraction·T) where the schedule is cut.</summary>
    /// <param name="fraction">The fraction of the schedule, in (0, 1).</param>
    /// <param name="trainSteps">The model's num_train_timesteps (1000 for SD).</param>
    public static int Cutoff(double fraction, int trainSteps)
    {
        Check(fraction);
        return (int)Math.Round(trainSteps - (fraction * trainSteps), MidpointRounding.ToEven);
    }

    /// <summary>
    /// How many leading entries of <paramref name="timesteps"/> a loop that ends at <paramref name="fraction"/> runs: those
    /// at or above the cutoff. 0 means none (the latents come back as they went in).
    /// </summary>
    /// <param name="timesteps">The timesteps the loop would run, descending.</param>
    /// <param name="fraction">denoising_end, in (0, 1).</param>
    /// <param name="trainSteps">num_train_timesteps.</param>
    public static int EndCount(IReadOnlyList<float> timesteps, double fraction, int trainSteps)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        var cutoff = Cutoff(fraction, trainSteps);
        return timesteps.Count(t => t >= cutoff);
    }

    /// <summary>
    /// The index into <paramref name="timesteps"/> where a loop that starts at <paramref name="fraction"/> begins: it runs the
    /// entries below the cutoff, plus one when the scheduler is second order and their count is even (its timesteps repeat,
    /// so an even count would begin between a step's two evaluations). Equal to the schedule's length when nothing is left
    /// (a first-order schedule with no timestep below the cutoff; diffusers' <c>timesteps[-0:]</c> would rerun all of it).
    /// </summary>
    /// <param name="timesteps">The whole schedule's timesteps, descending.</param>
    /// <param name="fraction">denoising_start, in (0, 1).</param>
    /// <param name="trainSteps">num_train_timesteps.</param>
    /// <param name="order">The scheduler's order (model evaluations per step).</param>
    public static int StartIndex(IReadOnlyList<float> timesteps, double fraction, int trainSteps, int order = 1)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        var cutoff = Cutoff(fraction, trainSteps);
        var count = timesteps.Count(t => t < cutoff);
        if (order == 2 && count % 2 == 0)
        {
            count++;
        }

        return timesteps.Count - Math.Min(count, timesteps.Count);
    }

    private static void Check(double fraction)
    {
        if (!Splits(fraction))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "A denoising fraction that splits the schedule lies strictly between 0 and 1.");
        }
    }
}
