namespace FlowDiffusion.Diffusion.Noise;

/// <summary>
/// numpy's legacy global generator after <c>np.random.seed(seed)</c> (MT19937 with the standard 32-bit initialisation),
/// and <see cref="NextDouble"/> as <c>np.random.uniform(0, 1)</c> and <c>random_sample</c> draw: two outputs, 27 and 26
/// bits, joined into 53.
/// </summary>
public sealed class NumpyRandomState
{
    private readonly MersenneTwister _twister;

    /// <summary><c>np.random.seed(seed)</c>, which takes 0 … 2³² − 1.</summary>
    public NumpyRandomState(uint seed) => _twister = new MersenneTwister(seed);

    /// <summary>A double in [0, 1).</summary>
    public double NextDouble()
    {
        var a = _twister.NextUInt32() >> 5;
        var b = _twister.NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }
}
