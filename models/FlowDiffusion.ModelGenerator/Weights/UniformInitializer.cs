namespace FlowDiffusion.ModelGenerator.Weights;

/// <summary>
/// Draws weights the way torch initialises Linear and Conv layers by default, uniform in ±1/√fan_in. Uniform rather
/// than Gaussian keeps the generator to +, × and √, whose float results are the same on every platform's libm.
/// </summary>
public sealed class UniformInitializer
{
    private readonly SplitMix64 _random;

    /// <summary>A fresh stream for one model.</summary>
    public UniformInitializer(ulong seed) => _random = new SplitMix64(seed);

    /// <summary><paramref name="count"/> values uniform in [-bound, bound).</summary>
    public float[] Uniform(int count, double bound)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)((2.0 * _random.NextDouble() - 1.0) * bound);
        }

        return values;
    }

    /// <summary>A layer's weights for a given fan-in, optionally scaled down (for output layers).</summary>
    public float[] ForFanIn(int count, int fanIn, double gain = 1.0) => Uniform(count, gain / Math.Sqrt(fanIn));
}
