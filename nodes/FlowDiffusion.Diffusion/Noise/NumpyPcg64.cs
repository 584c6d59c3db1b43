namespace FlowDiffusion.Diffusion.Noise;

/// <summary>
/// numpy's <c>np.random.default_rng(seed)</c>: PCG64 (128-bit LCG, XSL-RR output) seeded from
/// <see cref="NumpySeedSequence"/>'s four 64-bit words (state from the first two, increment from the last two, each pair
/// high word first), and <see cref="NextDouble"/> as <c>Generator.random()</c> and <c>uniform(0, 1)</c> draw.
/// </summary>
public sealed class NumpyPcg64
{
    private static readonly UInt128 Multiplier = new(2549297995355413924UL, 4865540595714422341UL);

    private readonly UInt128 _increment;
    private UInt128 _state;

    /// <summary><c>np.random.default_rng(seed)</c>.</summary>
    public NumpyPcg64(ulong seed)
    {
        var words = new NumpySeedSequence(seed).GenerateState64(4);
        UInt128 initState = new(words[0], words[1]), initSequence = new(words[2], words[3]);
        // pcg_setseq_128_srandom_r.
        _increment = (initSequence << 1) | 1;
        _state = 0;
        Step();
        _state += initState;
        Step();
    }

    /// <summary>The next 64-bit output.</summary>
    public ulong NextUInt64()
    {
        Step();
        var rotation = (int)(_state >> 122);
        return ulong.RotateRight((ulong)(_state >> 64) ^ (ulong)_state, rotation);
    }

    /// <summary>A double in [0, 1): the top 53 bits of the next output, over 2⁵³.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / 9007199254740992.0);

    private void Step() => _state = _state * Multiplier + _increment;
}
