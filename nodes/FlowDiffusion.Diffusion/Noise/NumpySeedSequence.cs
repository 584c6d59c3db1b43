namespace FlowDiffusion.Diffusion.Noise;

/// <summary>
/// numpy's <c>SeedSequence(entropy)</c> for a non-negative integer entropy and no spawn key: the integer split into 32-bit
/// words (least significant first), hashed into a pool of four words, and <see cref="GenerateState"/>'s words drawn from
/// the pool by its own hash, as numpy/random/bit_generator.pyx computes them.
/// </summary>
public sealed class NumpySeedSequence
{
    private const uint InitA = 0x43b0d7e5, MultA = 0x931e8875, InitB = 0x8b51f9dd, MultB = 0x58f38ded;
    private const uint MixMultL = 0xca01f9dd, MixMultR = 0x4973f715;
    private const int XShift = 16, PoolSize = 4;

    private readonly uint[] _pool = new uint[PoolSize];

    /// <summary>The sequence for <paramref name="entropy"/> (numpy takes any size of integer; a seed here has 64 bits).</summary>
    public NumpySeedSequence(ulong entropy)
    {
        // numpy's _coerce_to_uint32_array: 0 is one word; otherwise as many words as the integer needs.
        uint[] words = entropy >> 32 == 0 ? [(uint)entropy] : [(uint)entropy, (uint)(entropy >> 32)];
        var hash = InitA;
        for (var i = 0; i < PoolSize; i++) _pool[i] = HashMix(i < words.Length ? words[i] : 0, ref hash);
        for (var source = 0; source < PoolSize; source++)
        for (var destination = 0; destination < PoolSize; destination++)
            if (source != destination) _pool[destination] = Mix(_pool[destination], HashMix(_pool[source], ref hash));
    }

    /// <summary><c>generate_state(count, np.uint32)</c>.</summary>
    public uint[] GenerateState(int count)
    {
        var state = new uint[count];
        var hash = InitB;
        for (var i = 0; i < count; i++)
        {
            var value = _pool[i % PoolSize] ^ hash;
            hash *= MultB;
            value *= hash;
            state[i] = value ^ (value >> XShift);
        }

        return state;
    }

    /// <summary><c>generate_state(count, np.uint64)</c>: twice as many 32-bit words, paired low word first.</summary>
    public ulong[] GenerateState64(int count)
    {
        var words = GenerateState(2 * count);
        return [.. Enumerable.Range(0, count).Select(i => words[2 * i] | (ulong)words[2 * i + 1] << 32)];
    }

    private static uint HashMix(uint value, ref uint hash)
    {
        value ^= hash;
        hash *= MultA;
        value *= hash;
        return value ^ (value >> XShift);
    }

    private static uint Mix(uint x, uint y)
    {
        var result = MixMultL * x - MixMultR * y;
        return result ^ (result >> XShift);
    }
}
