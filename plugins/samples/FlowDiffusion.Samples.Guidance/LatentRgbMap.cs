namespace FlowDiffusion.Samples.Guidance;

/// <summary>
/// A linear map from the 4 latent channels to RGB in [-1, 1]: rgb_j = Σ_c latent_c · Factors[c, j]. Cheap enough to
/// evaluate and differentiate at every step, which is what makes colour guidance work without autograd.
/// </summary>
public sealed class LatentRgbMap
{
    private readonly float[,] _factors;

    private LatentRgbMap(float[,] factors)
    {
        _factors = factors;
        var trace = 0.0;
        foreach (var f in factors) trace += f * f;
        // The mean eigenvalue of FᵀF: dividing the gradient by it makes strength 1 a full step for an orthogonal map.
        Norm = (float)(trace / 3);
    }

    /// <summary>The per-channel factors of SD 1.x latents (those the usual fast previews use).</summary>
    public static LatentRgbMap StableDiffusion1 { get; } = new(new float[,]
    {
        { 0.3512f, 0.2297f, 0.3227f },
        { 0.3250f, 0.4974f, 0.2350f },
        { -0.2829f, 0.1762f, 0.2721f },
        { -0.2120f, -0.2616f, -0.7177f },
    });

    /// <summary>Mean eigenvalue of FᵀF.</summary>
    public float Norm { get; }

    /// <summary>The factor of latent channel <paramref name="channel"/> for colour <paramref name="rgb"/>.</summary>
    public float this[int channel, int rgb] => _factors[channel, rgb];

    /// <summary>A map from 12 numbers, channel by channel (c0 r, c0 g, c0 b, c1 r, …); none gives SD 1.x's.</summary>
    /// <exception cref="ArgumentException">Neither 0 nor 12 numbers, or all zero.</exception>
    public static LatentRgbMap From(IReadOnlyList<double> factors)
    {
        if (factors.Count == 0) return StableDiffusion1;
        if (factors.Count != 12)
            throw new ArgumentException($"latent_rgb needs 12 numbers (4 latent channels × r, g, b), not {factors.Count}");
        var matrix = new float[4, 3];
        for (var i = 0; i < 12; i++) matrix[i / 3, i % 3] = (float)factors[i];
        var map = new LatentRgbMap(matrix);
        if (map.Norm <= 0) throw new ArgumentException("latent_rgb is all zeros");
        return map;
    }
}
