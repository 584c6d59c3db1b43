namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>The beta distribution's quantile function (inverse regularized incomplete beta), for the "beta" sigma schedule.</summary>
public static class BetaDistribution
{
    /// <summary>The x in [0, 1] with I_x(a, b) = <paramref name="p"/>, to about 1e-14.</summary>
    /// <param name="p">A probability in [0, 1].</param>
    /// <param name="a">The first shape parameter (&gt; 0).</param>
    /// <param name="b">The second shape parameter (&gt; 0).</param>
    public static double Quantile(double p, double a, double b)
    {
        if (p <= 0) return 0;
        if (p >= 1) return 1;
        // The CDF is monotone: bisection, then a few Newton steps would be faster, but 200 halvings are exact enough and simple.
        double low = 0, high = 1;
        for (var i = 0; i < 200 && high - low > 1e-16; i++)
        {
            var mid = 0.5 * (low + high);
            if (RegularizedIncompleteBeta(mid, a, b) < p) low = mid;
            else high = mid;
        }

        return 0.5 * (low + high);
    }

    /// <summary>I_x(a, b), by Lentz's continued fraction (Numerical Recipes §6.4), using the symmetry for x past the mean.</summary>
    /// <param name="x">In [0, 1].</param>
    /// <param name="a">The first shape parameter.</param>
    /// <param name="b">The second shape parameter.</param>
    public static double RegularizedIncompleteBeta(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        var logFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        if (x < (a + 1) / (a + b + 2)) return Math.Exp(logFront) * ContinuedFraction(x, a, b) / a;
        return 1 - Math.Exp(logFront) * ContinuedFraction(1 - x, b, a) / b;
    }

    private static double ContinuedFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        if (Math.Abs(d) < tiny) d = tiny;
        d = 1 / d;
        var h = d;
        for (var m = 1; m <= 1000; m++)
        {
            var m2 = 2 * m;
            var numerator = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + numerator * d;
            if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + numerator / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            h *= d * c;
            numerator = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + numerator * d;
            if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + numerator / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }

        return h;
    }

    // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for positive arguments.
    private static double LogGamma(double x)
    {
        ReadOnlySpan<double> g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        var sum = g[0];
        for (var i = 1; i < g.Length; i++) sum += g[i] / (x + i);
        var t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
