namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// Self-attention guidance (Hong et al. 2023, "Improving Sample Quality of Diffusion Models Using Self-Attention Guidance"),
/// as ComfyUI's SelfAttentionGuidance runs it, a post-CFG function on x₀ estimates: the tokens of the middle block's first
/// self-attention that receive more than the mean attention (the map averaged over the heads and summed over the queries
/// above 1) mark where the unconditional estimate u is replaced by its gaussian blur; that degraded estimate d, re-noised
/// with u's noise (d + x − u), is predicted again with the negative conditioning (estimate s), and scale · (d − s) is added
/// to the guided estimate.
/// </summary>
public sealed class SelfAttentionGuidance
{
    /// <summary>The blur's taps per axis, fixed in ComfyUI.</summary>
    public const int KernelSize = 9;

    /// <summary>The attention a token must exceed to be blurred (1: the mean over the keys).</summary>
    public const double Threshold = 1;

    private readonly double[] _kernel;

    /// <summary>SAG at <paramref name="scale"/> with a gaussian blur of <paramref name="blurSigma"/> latent pixels.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A blur sigma that is not above 0 (ComfyUI divides by it and gets NaN).</exception>
    public SelfAttentionGuidance(double scale, double blurSigma)
    {
        if (!(blurSigma > 0)) throw new ArgumentOutOfRangeException(nameof(blurSigma), blurSigma, "SAG's blur sigma must be above 0 (ComfyUI's blur divides by it and gives NaN at 0)");
        (Scale, BlurSigma) = (scale, blurSigma);
        // exp(−½(x/σ)²) at x = −4 … 4 in float32, normalised, as ComfyUI's gaussian_blur_2d builds it.
        var pdf = Enumerable.Range(0, KernelSize).Select(i => MathF.Exp(-0.5f * MathF.Pow((i - (KernelSize / 2)) / (float)blurSigma, 2))).ToArray();
        var sum = pdf.Sum();
        _kernel = [.. pdf.Select(p => (double)(p / sum))];
    }

    /// <summary>The scale on d − s.</summary>
    public double Scale { get; }

    /// <summary>The blur's sigma in latent pixels.</summary>
    public double BlurSigma { get; }

    /// <summary>Whether SAG acts on latents of this size: ComfyUI returns the CFG result unchanged when a side is 4 or less, too small to pad for the blur.</summary>
    public static bool ActsOn(int height, int width) => Math.Min(height, width) > 4;

    /// <summary>
    /// The middle block's size as ComfyUI infers it from the token count: ratio = 2^bits(⌈√(h·w / tokens)⌉ − 1), size
    /// ⌈h / ratio⌉ × ⌈w / ratio⌉.
    /// </summary>
    /// <exception cref="ArgumentException">That size does not hold <paramref name="tokens"/> tokens (ComfyUI's reshape fails there).</exception>
    public static (int Height, int Width) MiddleSize(int height, int width, int tokens)
    {
        var bits = 64 - ulong.LeadingZeroCount((ulong)(Math.Ceiling(Math.Sqrt(height * width / (double)tokens)) - 1));
        var ratio = 1 << (int)bits;
        var size = ((height + ratio - 1) / ratio, (width + ratio - 1) / ratio);
        if (size.Item1 * size.Item2 != tokens)
            throw new ArgumentException($"SAG cannot place the middle block's {tokens} tokens on a {height}×{width} latent (it infers {size.Item1}×{size.Item2})");
        return size;
    }

    /// <summary>
    /// The degraded estimate d: <paramref name="unconditional"/> [batch, channels, h, w] blurred where the upsampled mask of
    /// <paramref name="attention"/> [batch, tokens] is set, unchanged elsewhere.
    /// </summary>
    public double[] Degrade(ReadOnlySpan<double> unconditional, ReadOnlySpan<float> attention, int batch, int channels, int height, int width)
    {
        var plane = height * width;
        if (unconditional.Length != batch * channels * plane || batch < 1 || attention.Length % batch != 0 || attention.Length == 0)
            throw new ArgumentException("the unconditional estimate or the attention map does not fit the batch");
        var tokens = attention.Length / batch;
        var (mh, mw) = MiddleSize(height, width, tokens);
        var blurred = Blur(unconditional, batch * channels, height, width);
        var degraded = unconditional.ToArray();
        for (var b = 0; b < batch; b++)
        {
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    // Nearest upsampling as torch's F.interpolate picks: ⌊dst · (in / out)⌋ in float32.
                    if (!(attention[(b * tokens) + (Nearest(y, mh, height) * mw) + Nearest(x, mw, width)] > Threshold)) continue;
                    for (var c = 0; c < channels; c++)
                    {
                        var k = (((b * channels) + c) * plane) + (y * width) + x;
                        degraded[k] = blurred[k];
                    }
                }
            }
        }

        return degraded;
    }

    /// <summary>guided += scale · (d − s) element-wise, s the estimate of the re-noised degraded latents.</summary>
    public void Apply(Span<double> guided, ReadOnlySpan<double> degraded, ReadOnlySpan<double> estimate)
    {
        if (degraded.Length < guided.Length || estimate.Length < guided.Length) throw new ArgumentException("the degraded estimates are shorter than the guided one");
        for (var k = 0; k < guided.Length; k++) guided[k] += (degraded[k] - estimate[k]) * Scale;
    }

    private static int Nearest(int index, int input, int output) =>
        input == output ? index : Math.Min((int)MathF.Floor(index * ((float)input / output)), input - 1);

    // The separable gaussian with reflect padding (the edge pixel not repeated), plane by plane.
    private double[] Blur(ReadOnlySpan<double> planes, int count, int height, int width)
    {
        var half = KernelSize / 2;
        var plane = height * width;
        var rows = new double[planes.Length];
        var result = new double[planes.Length];
        for (var p = 0; p < count; p++)
        {
            var o = p * plane;
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var sum = 0.0;
                    for (var t = 0; t < KernelSize; t++) sum += _kernel[t] * planes[o + (y * width) + Reflect(x + t - half, width)];
                    rows[o + (y * width) + x] = sum;
                }
            }

            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var sum = 0.0;
                    for (var t = 0; t < KernelSize; t++) sum += _kernel[t] * rows[o + (Reflect(y + t - half, height) * width) + x];
                    result[o + (y * width) + x] = sum;
                }
            }
        }

        return result;
    }

    private static int Reflect(int i, int size) => i < 0 ? -i : i >= size ? (2 * (size - 1)) - i : i;
}
