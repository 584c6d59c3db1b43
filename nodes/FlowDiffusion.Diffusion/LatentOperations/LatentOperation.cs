namespace FlowDiffusion.Diffusion.LatentOperations;

/// <summary>
/// One of ComfyUI's LATENT_OPERATION values: a function from latents to latents of the same shape, which
/// LatentApplyOperation runs on a LATENT and LatentApplyOperationCFG on the guidance (c − u) of each evaluation.
/// </summary>
public abstract class LatentOperation
{
    /// <summary>The names <see cref="Named"/> takes: none, and ComfyUI's two operations.</summary>
    public static IReadOnlyList<string> Names { get; } = ["none", "tonemap_reinhard", "sharpen"];

    /// <summary>The operation by name with its settings (each operation reads its own); null for <c>none</c>.</summary>
    /// <exception cref="ArgumentException">An unknown name, or a setting outside ComfyUI's range.</exception>
    public static LatentOperation? Named(string name, double multiplier, int sharpenRadius, double sigma, double alpha) => name switch
    {
        "none" => null,
        "tonemap_reinhard" => multiplier is >= 0 and <= 100 ? new ReinhardTonemap(multiplier) : throw new ArgumentException($"multiplier must be 0 … 100; got {multiplier}"),
        "sharpen" => sharpenRadius is < 1 or > 31 ? throw new ArgumentException($"sharpen_radius must be 1 … 31; got {sharpenRadius}")
            : !(sigma is >= 0.1 and <= 10) ? throw new ArgumentException($"sigma must be 0.1 … 10; got {sigma}")
            : !(alpha is >= 0 and <= 5) ? throw new ArgumentException($"alpha must be 0 … 5; got {alpha}")
            : new LatentSharpen(sharpenRadius, sigma, alpha),
        _ => throw new ArgumentException($"operation: '{name}' is not one of {string.Join(", ", Names)}"),
    };

    /// <summary>Changes <paramref name="latent"/> in place.</summary>
    /// <param name="latent">The latents, [batch, channels, height, width].</param>
    /// <param name="batch">Batch items.</param>
    /// <param name="channels">Channels.</param>
    /// <param name="height">Rows.</param>
    /// <param name="width">Columns.</param>
    /// <exception cref="ArgumentException">The shape does not match the values, or the operation cannot run on it.</exception>
    public abstract void Apply(Span<double> latent, int batch, int channels, int height, int width);

    /// <summary>Throws unless <paramref name="latent"/> holds exactly [batch, channels, height, width] values.</summary>
    protected static void CheckShape(ReadOnlySpan<double> latent, int batch, int channels, int height, int width)
    {
        if (batch < 1 || channels < 1 || height < 1 || width < 1 || latent.Length != (long)batch * channels * height * width)
            throw new ArgumentException($"the latents must be [batch, channels, height, width] = [{batch}, {channels}, {height}, {width}]; got {latent.Length} values");
    }

    /// <summary>The length of each pixel's channel vector plus <paramref name="epsilon"/>, [batch, height·width].</summary>
    protected static double[] Lengths(ReadOnlySpan<double> latent, int batch, int channels, int plane, double epsilon)
    {
        var lengths = new double[batch * plane];
        for (var b = 0; b < batch; b++)
        for (var p = 0; p < plane; p++)
        {
            double sum = 0;
            for (var c = 0; c < channels; c++)
            {
                var v = latent[(b * channels + c) * plane + p];
                sum += v * v;
            }

            lengths[b * plane + p] = Math.Sqrt(sum) + epsilon;
        }

        return lengths;
    }
}
