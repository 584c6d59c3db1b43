using System.Globalization;
using System.Text.Json;
using FlowDiffusion.Diffusion.Noise;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Noise;

/// <summary>
/// numpy's SeedSequence, default_rng (PCG64) and legacy np.random.seed generators against numpy 1.24's own draws
/// (tools/reference/make_numpy_random.py): every double's 64 bits, for seeds from 0 to 2⁶⁴ − 1.
/// </summary>
public sealed class NumpyRandomTests
{
    private static readonly JsonElement Oracle = NoiseOracle.Load("numpy-random.json");

    public static IEnumerable<object[]> PcgSeeds() => Oracle.GetProperty("default_rng").EnumerateArray().Select((c, i) => new object[] { i, c.GetProperty("seed").GetString()! });

    public static IEnumerable<object[]> LegacySeeds() => Oracle.GetProperty("legacy").EnumerateArray().Select((c, i) => new object[] { i, c.GetProperty("seed").GetUInt32() });

    [Theory]
    [MemberData(nameof(PcgSeeds))]
    public void Seed_sequence_state_matches_numpy(int index, string seed)
    {
        var expected = Oracle.GetProperty("default_rng")[index].GetProperty("state32").EnumerateArray().Select(e => e.GetUInt32()).ToArray();
        Assert.Equal(expected, new NumpySeedSequence(ulong.Parse(seed, CultureInfo.InvariantCulture)).GenerateState(8));
    }

    [Theory]
    [MemberData(nameof(PcgSeeds))]
    public void Default_rng_doubles_match_numpy_bit_for_bit(int index, string seed)
    {
        var c = Oracle.GetProperty("default_rng")[index];
        var rng = new NumpyPcg64(ulong.Parse(seed, CultureInfo.InvariantCulture));
        // random(1000), then uniform(0, 1, (10, 10, 1)) from the same stream.
        var expected = Bits(c.GetProperty("random")).Concat(Bits(c.GetProperty("uniform"))).ToArray();
        var actual = expected.Select(_ => BitConverter.DoubleToUInt64Bits(rng.NextDouble())).ToArray();
        Assert.Equal(1100, expected.Length);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(LegacySeeds))]
    public void Legacy_seeded_uniform_matches_numpy_bit_for_bit(int index, uint seed)
    {
        var expected = Bits(Oracle.GetProperty("legacy")[index].GetProperty("uniform")).ToArray();
        var state = new NumpyRandomState(seed);
        Assert.Equal(expected, expected.Select(_ => BitConverter.DoubleToUInt64Bits(state.NextDouble())).ToArray());
    }

    private static IEnumerable<ulong> Bits(JsonElement hex) => hex.EnumerateArray().Select(e => ulong.Parse(e.GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
}
