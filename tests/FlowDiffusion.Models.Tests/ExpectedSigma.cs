namespace FlowDiffusion.Models.Tests;

/// <summary>SD's training σ(t) recomputed here in double precision, independently of the generator's float32 table.</summary>
internal static class ExpectedSigma
{
    private static readonly double[] Table = Build();

    /// <summary>σ linearly interpolated at a possibly fractional timestep in [0, 999].</summary>
    public static double At(double t)
    {
        var lower = (int)Math.Floor(t);
        var upper = Math.Min(lower + 1, 999);
        return Table[lower] + (t - lower) * (Table[upper] - Table[lower]);
    }

    private static double[] Build()
    {
        var start = Math.Sqrt(0.00085);
        var end = Math.Sqrt(0.012);
        var sigmas = new double[1000];
        var alphaBar = 1.0;
        for (var i = 0; i < 1000; i++)
        {
            var sqrtBeta = start + (end - start) * i / 999.0;
            alphaBar *= 1 - sqrtBeta * sqrtBeta;
            sigmas[i] = Math.Sqrt((1 - alphaBar) / alphaBar);
        }

        return sigmas;
    }
}
