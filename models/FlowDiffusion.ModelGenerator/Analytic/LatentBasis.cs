namespace FlowDiffusion.ModelGenerator.Analytic;

/// <summary>
/// The analytic VAE's per-pixel map M from RGB in [-1, 1] to the 4 latent channels: three columns of a 4×4 Hadamard
/// matrix scaled by ½, so the columns are orthonormal, the condition number is 1 and the pseudo-inverse is exactly Mᵀ.
/// </summary>
public static class LatentBasis
{
    /// <summary>M, row-major [4, 3]: latent channel k = Σ_c M[k, c] · rgb[c].</summary>
    public static float[,] M { get; } =
    {
        { 0.5f, 0.5f, 0.5f },
        { 0.5f, -0.5f, 0.5f },
        { 0.5f, 0.5f, -0.5f },
        { 0.5f, -0.5f, -0.5f },
    };

    /// <summary>M as a 1×1 convolution weight [4, 3, 1, 1].</summary>
    internal static float[] EncoderWeight() => Enumerable.Range(0, 12).Select(i => M[i / 3, i % 3]).ToArray();

    /// <summary>Mᵀ (= pinv M) as a 1×1 convolution weight [3, 4, 1, 1].</summary>
    internal static float[] DecoderWeight() => Enumerable.Range(0, 12).Select(i => M[i % 4, i / 4]).ToArray();

    /// <summary>Mᵀ as a MatMul right operand [3, 4], mapping row vectors rgb to row vectors of latent channels.</summary>
    internal static float[] RowVectorMap() => Enumerable.Range(0, 12).Select(i => M[i % 4, i / 4]).ToArray();
}
