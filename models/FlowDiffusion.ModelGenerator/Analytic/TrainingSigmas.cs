namespace FlowDiffusion.ModelGenerator.Analytic;

/// <summary>
/// σ_t = √((1 − ᾱ_t)/ᾱ_t) of SD's scaled_linear schedule (β from √0.00085 to √0.012 over 1000 steps, squared),
/// computed in float32 step by step as torch does, so the analytic UNet agrees with diffusers' schedulers.
/// </summary>
public static class TrainingSigmas
{
    /// <summary>Training steps of SD v1.x.</summary>
    public const int Count = 1000;

    /// <summary>σ for t = 0 … 999.</summary>
    public static float[] Compute()
    {
        var start = (float)Math.Sqrt(0.00085);
        var end = (float)Math.Sqrt(0.012);
        var step = (end - start) / (Count - 1);
        var sigmas = new float[Count];
        var alphaBar = 1f;
        for (var t = 0; t < Count; t++)
        {
            // torch.linspace fills the first half from the start and the second half back from the end.
            var sqrtBeta = t < Count / 2 ? start + step * t : end - step * (Count - 1 - t);
            var beta = sqrtBeta * sqrtBeta;
            alphaBar *= 1f - beta;
            sigmas[t] = MathF.Sqrt((1f - alphaBar) / alphaBar);
        }

        return sigmas;
    }
}
