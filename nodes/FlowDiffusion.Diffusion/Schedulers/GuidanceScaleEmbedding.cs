namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// The guidance-scale embedding an LCM-distilled UNet takes as <c>timestep_cond</c> (Luo et al. 2023; the sinusoidal
/// embedding of VDM): the guidance scale w enters as (w − 1)·1000, and with h = width / 2 and f_i = exp(−i·ln(10000) / (h − 1))
/// for i = 0 … h − 1 the embedding is [sin((w − 1)·1000·f_i) …, cos((w − 1)·1000·f_i) …], zero-padded to an odd width.
/// As diffusers' <c>LatentConsistencyModelPipeline</c>, which computes it in float32 and runs no classifier-free
/// guidance for such a UNet: the scale is embedded, not applied.
/// </summary>
public static class GuidanceScaleEmbedding
{
    /// <summary>The embedding of <paramref name="guidanceScale"/> for a UNet whose time_cond_proj_dim is <paramref name="width"/>.</summary>
    /// <param name="guidanceScale">The guidance scale w as the user gives it (LCM Dreamshaper's default 8).</param>
    /// <param name="width">The embedding width (time_cond_proj_dim); at least 4.</param>
    /// <returns>[width] values.</returns>
    public static float[] Compute(float guidanceScale, int width)
    {
        if (width < 4) throw new ArgumentOutOfRangeException(nameof(width), width, "the guidance-scale embedding needs a width of at least 4");
        var half = width / 2;
        var embedding = new float[width];
        // float32 throughout, each operation rounded as torch rounds it.
        var w = (guidanceScale - 1f) * 1000f;
        var step = MathF.Log(10000f) / (half - 1);
        for (var i = 0; i < half; i++)
        {
            var angle = w * MathF.Exp(i * -step);
            embedding[i] = MathF.Sin(angle);
            embedding[half + i] = MathF.Cos(angle);
        }

        return embedding;
    }
}
