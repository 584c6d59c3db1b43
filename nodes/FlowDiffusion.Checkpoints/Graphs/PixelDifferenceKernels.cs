namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// PiDiNet's pixel-difference convolutions as vanilla kernels (the paper's conversion, as its <c>convert_pdc</c>): each
/// 3×3 weight set w [out, in, 3, 3] gives the kernel a plain convolution applies to the same effect.
/// cd (central differences, Σ wᵢ (xᵢ − x_centre)): w with Σw taken off the centre tap;
/// ad (angular, Σ wᵢ (xᵢ − x of its clockwise neighbour)): w − w[3, 0, 1, 6, 4, 2, 7, 8, 5];
/// rd (radial, Σ w[k+1] (x at 2·d_k − x at d_k) for the 8 directions d_k): a 5×5 kernel, w[1…8] on the outer ring's eight
/// taps and −w[1…8] on the inner ring's (w[0] unused, as the published code); cv: w as it is.
/// </summary>
public static class PixelDifferenceKernels
{
    private static readonly int[] Clockwise = [3, 0, 1, 6, 4, 2, 7, 8, 5];
    private static readonly int[] OuterRing = [0, 2, 4, 10, 14, 20, 22, 24];
    private static readonly int[] InnerRing = [6, 7, 8, 11, 13, 16, 17, 18];

    /// <summary>The kernel size the converted <paramref name="pdc"/> kernel has (5 for rd, else 3).</summary>
    public static int Size(string pdc) => pdc == "rd" ? 5 : 3;

    /// <summary>The vanilla kernel for <paramref name="pdc"/> (cd, ad, rd or cv) of 3×3 <paramref name="weights"/> holding <paramref name="kernels"/> kernels.</summary>
    public static float[] Convert(string pdc, float[] weights, long kernels)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Length != kernels * 9) throw new ArgumentException($"{weights.Length} weights are not {kernels} 3×3 kernels", nameof(weights));
        var size = Size(pdc);
        var converted = new float[kernels * size * size];
        for (var k = 0; k < kernels; k++)
        {
            var w = weights.AsSpan(k * 9, 9);
            var into = converted.AsSpan(k * size * size, size * size);
            switch (pdc)
            {
                case "cv":
                    w.CopyTo(into);
                    break;
                case "cd":
                    w.CopyTo(into);
                    var sum = 0f;
                    foreach (var v in w) sum += v;
                    into[4] -= sum;
                    break;
                case "ad":
                    for (var i = 0; i < 9; i++) into[i] = w[i] - w[Clockwise[i]];
                    break;
                case "rd":
                    for (var i = 0; i < 8; i++)
                    {
                        into[OuterRing[i]] = w[i + 1];
                        into[InnerRing[i]] = -w[i + 1];
                    }

                    break;
                default:
                    throw new ArgumentException($"'{pdc}' is not a pixel-difference convolution (cd, ad, rd, cv)", nameof(pdc));
            }
        }

        return converted;
    }
}
