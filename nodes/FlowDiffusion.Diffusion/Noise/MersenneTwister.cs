namespace FlowDiffusion.Diffusion.Noise;

/// <summary>
/// MT19937 as PyTorch's CPU generator runs it: seeded from the low 32 bits of the seed with the standard
/// initialisation, regenerating all 624 words of state at once.
/// </summary>
internal sealed class MersenneTwister
{
    private const int StateSize = 624;
    private const int Shift = 397;
    private const uint MatrixA = 0x9908b0df;

    private readonly uint[] _state = new uint[StateSize];
    private int _next;

    /// <summary>Seeds the generator; torch keeps only the low 32 bits of a 64-bit seed here.</summary>
    public MersenneTwister(ulong seed)
    {
        _state[0] = (uint)seed;
        for (var i = 1; i < StateSize; i++)
            _state[i] = 1812433253u * (_state[i - 1] ^ (_state[i - 1] >> 30)) + (uint)i;
        _next = StateSize;
    }

    /// <summary>The next tempered 32-bit output.</summary>
    public uint NextUInt32()
    {
        if (_next == StateSize)
            Regenerate();
        var y = _state[_next++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >> 18;
        return y;
    }

    private void Regenerate()
    {
        var state = _state;
        for (var i = 0; i < StateSize - Shift; i++)
            state[i] = state[i + Shift] ^ Twist(state[i], state[i + 1]);
        for (var i = StateSize - Shift; i < StateSize - 1; i++)
            state[i] = state[i + Shift - StateSize] ^ Twist(state[i], state[i + 1]);
        state[StateSize - 1] = state[Shift - 1] ^ Twist(state[StateSize - 1], state[0]);
        _next = 0;
    }

    private static uint Twist(uint upper, uint lower)
    {
        var mixed = (upper & 0x80000000u) | (lower & 0x7fffffffu);
        return (mixed >> 1) ^ ((lower & 1u) != 0 ? MatrixA : 0u);
    }
}
