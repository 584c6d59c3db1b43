using FlowDiffusion.Diffusion.KDiffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.KDiffusion;

public sealed class BrownianTreeNoiseTests
{
    private const int Length = 1 << 16;

    private static float[] Increment(BrownianTreeNoise tree, double from, double to, int length = Length)
    {
        var values = new float[length];
        tree.Fill(from, to, values);
        return values;
    }

    private static (double Mean, double Variance) Moments(float[] values)
    {
        var mean = values.Average(v => (double)v);
        return (mean, values.Average(v => (v - mean) * (v - mean)));
    }

    private static double Correlation(float[] a, float[] b)
    {
        double sab = 0, saa = 0, sbb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sab += a[i] * (double)b[i];
            saa += a[i] * (double)a[i];
            sbb += b[i] * (double)b[i];
        }

        return sab / Math.Sqrt(saa * sbb);
    }

    [Fact]
    public void Increments_are_standard_normal_independent_over_disjoint_intervals_and_correlated_as_Brownian_motion_over_overlapping_ones()
    {
        var tree = new BrownianTreeNoise(42, Length, 0.0292, 14.6146);
        var first = Increment(tree, 14.6146, 9.7);
        var second = Increment(tree, 9.7, 3.1);
        var inner = Increment(tree, 9.7, Math.Sqrt(9.7 * 3.1));
        // 65,536 samples: the standard error of a mean is 0.004, of a variance 0.0055, of a correlation 0.004.
        foreach (var values in new[] { first, second, inner })
        {
            var (mean, variance) = Moments(values);
            Assert.True(Math.Abs(mean) < 0.02 && Math.Abs(variance - 1) < 0.03, $"mean {mean}, variance {variance}");
        }

        Assert.True(Math.Abs(Correlation(first, second)) < 0.02);
        // dpmpp_sde asks for (σ, σ_s) and then (σ, σ_next) with σ_s between: Cov = |σ − σ_s|, so ρ = √(|σ − σ_s| / |σ − σ_next|).
        var expected = Math.Sqrt((9.7 - Math.Sqrt(9.7 * 3.1)) / (9.7 - 3.1));
        var rho = Correlation(inner, second);
        Assert.True(Math.Abs(rho - expected) < 0.02, $"correlation {rho:F4}, Brownian motion gives {expected:F4}");
    }

    [Fact]
    public void The_path_is_one_function_of_the_seed_whatever_times_are_asked_and_in_whatever_order()
    {
        const int n = 4096;
        var a = new BrownianTreeNoise(7, n, 0.03, 14.6);
        var b = new BrownianTreeNoise(7, n, 0.03, 14.6);
        // Additivity: W(c) − W(a) = (W(b) − W(a)) + (W(c) − W(b)), the three asked in different orders of two trees.
        var whole = Increment(a, 8.0, 0.5, n).Select(v => v * Math.Sqrt(7.5)).ToArray();
        var late = Increment(b, 2.0, 0.5, n);
        var early = Increment(b, 8.0, 2.0, n);
        for (var i = 0; i < n; i++)
        {
            var sum = early[i] * Math.Sqrt(6.0) + late[i] * Math.Sqrt(1.5);
            Assert.True(Math.Abs(sum - whole[i]) < 1e-4, $"element {i}: {sum} vs {whole[i]}");
        }

        // After walking 100 steps of a schedule (its path cache replaced each time) the values are a fresh tree's.
        for (var step = 0; step < 100; step++) a.Fill(14.6 - step * 0.14, 14.6 - (step + 1) * 0.14, new float[n]);
        Assert.Equal(Increment(new BrownianTreeNoise(7, n, 0.03, 14.6), 3.3, 1.1, n), Increment(a, 3.3, 1.1, n));
        Assert.NotEqual(Increment(new BrownianTreeNoise(8, n, 0.03, 14.6), 3.3, 1.1, n), Increment(a, 3.3, 1.1, n));
    }
}
