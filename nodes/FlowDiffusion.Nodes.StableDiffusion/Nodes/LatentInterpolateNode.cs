using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Blends two latents by direction and length, as ComfyUI's LatentInterpolate.</summary>
[Node("latent.interpolate", "1.0.0", Category = "latent/advanced", Title = "Interpolate Latents",
    Description = "At each pixel, the channel vectors of samples1 and samples2 are made unit length and mixed as ratio · samples1 + (1 − ratio) · samples2 (ratio 1 gives samples1), the mix made unit length and given the length ratio · |samples1| + (1 − ratio) · |samples2|, as ComfyUI's LatentInterpolate. Where a length is 0 the unit vector is 0 (ComfyUI's nan_to_num), so opposite vectors mixed half and half give 0. samples2 is first brought to samples1's size and batch as in latent.add. The result keeps samples1's seeds and noise indices.")]
public sealed class LatentInterpolateNode : INode
{
    /// <summary>The first latents.</summary>
    [Input(Description = "The latents ratio weighs; the result has their shape.")]
    public Latent? Samples1 { get; set; }

    /// <summary>The second latents.</summary>
    [Input(Description = "The latents 1 − ratio weighs, brought to samples1's shape.")]
    public Latent? Samples2 { get; set; }

    /// <summary>The weight of samples1.</summary>
    [Parameter(Description = "How much of samples1 (1 = all of it, 0 = all of samples2).", Min = 0, Max = 1, Step = 0.01)]
    public double Ratio { get; set; } = 1;

    /// <summary>The blend.</summary>
    [Output(Description = "The interpolated latents.")]
    public Latent? Interpolated { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var first = Samples1!;
        if (!(Ratio is >= 0 and <= 1)) throw new ArgumentException($"ratio must be 0 … 1; got {Ratio}");
        var second = LatentMatch.To(first, Samples2!, "samples1", "samples2");
        var own = first.Values;
        // torch multiplies float32 tensors by the Python floats ratio and 1.0 − ratio, each made float32.
        float ratio = (float)Ratio, rest = (float)(1.0 - Ratio);
        int channels = first.Channels, plane = first.Height * first.Width;
        var values = new float[own.Length];
        var mixed = new float[channels];
        for (var b = 0; b < first.Batch; b++)
        for (var p = 0; p < plane; p++)
        {
            var at = b * channels * plane + p;
            float length1 = Length(own, at, plane, channels), length2 = Length(second, at, plane, channels);
            for (var c = 0; c < channels; c++)
            {
                var i = at + c * plane;
                mixed[c] = Finite(own[i] / length1) * ratio + Finite(second[i] / length2) * rest;
            }

            var lengthMixed = Length(mixed, 0, 1, channels);
            var length = length1 * ratio + length2 * rest;
            for (var c = 0; c < channels; c++) values[at + c * plane] = Finite(mixed[c] / lengthMixed) * length;
        }

        Interpolated = new Latent(first.Batch, channels, first.Height, first.Width, values, first.Seeds) { NoiseIndices = first.NoiseIndices };
        return Task.CompletedTask;
    }

    // The euclidean length of the channel vector that starts at `at`, its channels `stride` apart.
    private static float Length(ReadOnlySpan<float> values, int at, int stride, int channels)
    {
        double sum = 0;
        for (var c = 0; c < channels; c++) sum += (double)values[at + c * stride] * values[at + c * stride];
        return (float)Math.Sqrt(sum);
    }

    // torch.nan_to_num: NaN → 0, ±∞ → the largest finite float32 of that sign.
    private static float Finite(float value) => float.IsNaN(value) ? 0 : float.IsPositiveInfinity(value) ? float.MaxValue : float.IsNegativeInfinity(value) ? float.MinValue : value;
}
