namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>How much of a known noise stream latents on analytic-sd carry: the colour's latent is constant per channel, so what is left after each channel's mean is the noise.</summary>
internal static class NoiseCorrelation
{
    /// <summary>Each of the 4 channels less its mean.</summary>
    public static double[] Centred(float[] values)
    {
        var plane = values.Length / 4;
        var centred = new double[values.Length];
        for (var c = 0; c < 4; c++)
        {
            var mean = values.AsSpan(c * plane, plane).ToArray().Average(v => (double)v);
            for (var i = 0; i < plane; i++) centred[c * plane + i] = values[c * plane + i] - mean;
        }

        return centred;
    }

    /// <summary>The correlation of <paramref name="a"/> and <paramref name="b"/> about 0.</summary>
    public static double Of(double[] a, double[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }

        return ab / Math.Sqrt(aa * bb);
    }
}
