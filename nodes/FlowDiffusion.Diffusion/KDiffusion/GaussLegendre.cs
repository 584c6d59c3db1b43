namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// Gauss–Legendre quadrature on [−1, 1]: n points integrate every polynomial of degree below 2n exactly, which is how
/// lms integrates its Lagrange basis polynomials (degree order − 1).
/// </summary>
internal static class GaussLegendre
{
    // Four points, to full double precision: every order up to 8, lms's default 4 among them.
    private static readonly double[] FourNodes = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
    private static readonly double[] FourWeights = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];

    /// <summary>The nodes and weights of the rule with at least four points that is exact for degree <paramref name="degree"/>.</summary>
    public static (double[] Nodes, double[] Weights) ExactFor(int degree)
    {
        var points = (degree + 2) / 2;
        return points <= 4 ? (FourNodes, FourWeights) : Rule(points);
    }

    // The roots of the Legendre polynomial P_n by Newton's method from the usual cosine guesses; the weight of root x is
    // 2 / ((1 − x²) P_n′(x)²).
    private static (double[] Nodes, double[] Weights) Rule(int n)
    {
        var nodes = new double[n];
        var weights = new double[n];
        for (var i = 0; i < n; i++)
        {
            var x = -Math.Cos(Math.PI * (i + 0.75) / (n + 0.5));
            for (var iteration = 0; iteration < 100; iteration++)
            {
                var (value, slope) = Legendre(n, x);
                var change = value / slope;
                x -= change;
                if (Math.Abs(change) <= 1e-16) break;
            }

            var derivative = Legendre(n, x).Slope;
            nodes[i] = x;
            weights[i] = 2 / ((1 - x * x) * derivative * derivative);
        }

        return (nodes, weights);
    }

    // P_n(x) by the three-term recurrence, and P_n′(x) = n (x P_n − P_{n−1}) / (x² − 1).
    private static (double Value, double Slope) Legendre(int n, double x)
    {
        double previous = 1, current = x;
        for (var k = 2; k <= n; k++) (previous, current) = (current, ((2 * k - 1) * x * current - (k - 1) * previous) / k);
        return (current, n * (x * current - previous) / (x * x - 1));
    }
}
