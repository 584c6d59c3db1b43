namespace FlowDiffusion.Samples.Guidance;

/// <summary>
/// σ(t) = √((1 − ᾱ_t)/ᾱ_t) of SD 1.x's training schedule (scaled-linear betas 0.00085 … 0.012 over 1000 steps),
/// for schedulers that step in ᾱ space and so pass no sigma to the guider.
/// </summary>
internal static class TrainingSigma
{
    private static readonly double[] Sigmas = Build();

    public static double At(double timestep)
    {
        var t = Math.Clamp(timestep, 0, Sigmas.Length - 1);
        var low = (int)Math.Floor(t);
        var high = Math.Min(low + 1, Sigmas.Length - 1);
        return Sigmas[low] + (t - low) * (Sigmas[high] - Sigmas[low]);
    }

    private static double[] Build()
    {
        const int steps = 1000;
        double start = Math.Sqrt(0.00085), end = Math.Sqrt(0.012), alphaBar = 1;
        var sigmas = new double[steps];
        for (var i = 0; i < steps; i++)
        {
            var root = start + (end - start) * i / (steps - 1);
            alphaBar *= 1 - root * root;
            sigmas[i] = Math.Sqrt((1 - alphaBar) / alphaBar);
        }
        return sigmas;
    }
}
