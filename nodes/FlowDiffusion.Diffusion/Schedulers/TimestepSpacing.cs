namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// The ways diffusers spreads N inference timesteps over the training range ("Common Diffusion Noise Schedules
/// and Sample Steps are Flawed", table 2): <c>linspace</c>, <c>leading</c> and <c>trailing</c>, computed in double
/// with NumPy's rules.
/// </summary>
public static class TimestepSpacing
{
    /// <summary>The spacing names diffusers accepts.</summary>
    public static readonly IReadOnlyList<string> Names = ["leading", "linspace", "trailing"];

    /// <summary>Throws a clear error for an unknown spacing name.</summary>
    /// <param name="spacing">The spacing to check.</param>
    public static string Validate(string spacing) =>
        Names.Contains(spacing)
            ? spacing
            : throw new ArgumentException($"Unknown timestep_spacing '{spacing}'. Valid values: {string.Join(", ", Names)}.");

    /// <summary>numpy.linspace(start, stop, count) in double: i·step + start, the last entry exactly stop.</summary>
    internal static double[] Linspace(double start, double stop, int count)
    {
        var values = new double[count];
        if (count == 1)
        {
            values[0] = start;
            return values;
        }

        var step = (stop - start) / (count - 1);
        for (var i = 0; i < count; i++) values[i] = i * step + start;
        values[^1] = stop;
        return values;
    }

    /// <summary>numpy.arange(start, stop, step) for a negative float step.</summary>
    internal static double[] ArangeDown(double start, double stop, double step)
    {
        var count = Math.Max(0, (int)Math.Ceiling((stop - start) / step));
        var values = new double[count];
        for (var i = 0; i < count; i++) values[i] = start + i * step;
        return values;
    }

    /// <summary>
    /// The integer schedule of DDIM and DDPM (descending, N entries); PNDM uses the same values ascending.
    /// </summary>
    internal static int[] Discrete(int trainSteps, int steps, string spacing, int stepsOffset)
    {
        switch (Validate(spacing))
        {
            case "linspace":
                return Linspace(0, trainSteps - 1, steps).Reverse().Select(v => (int)Math.Round(v)).ToArray();
            case "leading":
                var ratio = trainSteps / steps;
                return Enumerable.Range(0, steps).Reverse().Select(i => i * ratio + stepsOffset).ToArray();
            default:
                return ArangeDown(trainSteps, 0, -(double)trainSteps / steps).Select(v => (int)Math.Round(v) - 1).ToArray();
        }
    }

    /// <summary>The float32 schedule of the sigma-based classes (LMS, Euler, Heun, KDPM2; descending, N entries).</summary>
    internal static float[] Continuous(int trainSteps, int steps, string spacing, int stepsOffset)
    {
        switch (Validate(spacing))
        {
            case "linspace":
                return Linspace(0, trainSteps - 1, steps).Reverse().Select(v => (float)v).ToArray();
            case "leading":
                var ratio = trainSteps / steps;
                return Enumerable.Range(0, steps).Reverse().Select(i => (float)(i * ratio) + stepsOffset).ToArray();
            default:
                return ArangeDown(trainSteps, 0, -(double)trainSteps / steps).Select(v => (float)Math.Round(v) - 1f).ToArray();
        }
    }

    /// <summary>
    /// The integer schedule of the exponential-integrator solvers (DPM-Solver, UniPC, DEIS): N + 1 points with the last
    /// dropped, so the final step ends at the training range's start.
    /// </summary>
    internal static int[] Solver(int trainSteps, int lastTimestep, int steps, string spacing, int stepsOffset)
    {
        switch (Validate(spacing))
        {
            case "linspace":
                return Linspace(0, lastTimestep - 1, steps + 1).Reverse().Take(steps).Select(v => (int)Math.Round(v)).ToArray();
            case "leading":
                var ratio = lastTimestep / (steps + 1);
                return Enumerable.Range(1, steps).Reverse().Select(i => i * ratio + stepsOffset).ToArray();
            default:
                return ArangeDown(lastTimestep, 0, -(double)trainSteps / steps).Select(v => (int)Math.Round(v) - 1).ToArray();
        }
    }
}
