using Xunit;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using FlowDiffusion.Diffusion.Noise;

namespace FlowDiffusion.Diffusion.Tests.Noise;

public sealed class TorchGeneratorTests
{
    public static IEnumerable<object[]> PublishedCases() =>
        NoiseOracle.Load("torch_cpu_randn.json").GetProperty("cases").EnumerateArray()
            .Select((c, i) => new object[] { i, $"seed {c.GetProperty("seed")} shape {c.GetProperty("shape")}" });

    public static IEnumerable<object[]> SingleDrawCases() =>
        NoiseOracle.Load("torch_cpu_randn_extra.json").GetProperty("single").EnumerateArray()
            .Select((c, i) => new object[] { i, $"seed {c.GetProperty("seed")} shape {c.GetProperty("shape")}" });

    public static IEnumerable<object[]> SequenceCases() =>
        NoiseOracle.Load("torch_cpu_randn_extra.json").GetProperty("sequences").EnumerateArray()
            .Select((c, i) => new object[] { i, $"seed {c.GetProperty("seed")}" });

    public static IEnumerable<object[]> LargeCases() =>
        NoiseOracle.Load("torch_cpu_randn_extra.json").GetProperty("large").EnumerateArray()
            .Select((c, i) => new object[] { i, $"seed {c.GetProperty("seed")} shape {c.GetProperty("shape")}" });

    public static IEnumerable<object[]> DefaultKernelCases() =>
        NoiseOracle.Load("torch_cpu_randn_default_kernel.json").GetProperty("cases").EnumerateArray()
            .Select((c, i) => new object[] { i, $"seed {c.GetProperty("seed")} shape {c.GetProperty("shape")}" });

    [Theory]
    [MemberData(nameof(PublishedCases))]
    public void Randn_matches_torch_oracle_bit_for_bit(int index, string label)
    {
        var expected = NoiseOracle.Load("torch_cpu_randn.json").GetProperty("cases")[index];
        var actual = new TorchGenerator(NoiseOracle.Seed(expected.GetProperty("seed")))
            .Randn(NoiseOracle.Shape(expected.GetProperty("shape")));

        AssertBits(NoiseOracle.Floats(expected.GetProperty("first8")), actual.AsSpan(0, 8), label);
        AssertBits(NoiseOracle.Floats(expected.GetProperty("last4")), actual.AsSpan(actual.Length - 4), label);
        if (expected.TryGetProperty("values", out var values))
            AssertBits(NoiseOracle.Floats(values), actual, label);
        Assert.Equal(expected.GetProperty("sum_f64").GetDouble(), actual.Sum(v => (double)v), 9);
        Assert.Equal(expected.GetProperty("abs_sum_f64").GetDouble(), actual.Sum(v => Math.Abs((double)v)), 9);
    }

    [Theory]
    [MemberData(nameof(SingleDrawCases))]
    public void Randn_matches_torch_for_every_size_and_seed_form(int index, string label)
    {
        var expected = NoiseOracle.Load("torch_cpu_randn_extra.json").GetProperty("single")[index];
        var actual = new TorchGenerator(NoiseOracle.Seed(expected.GetProperty("seed")))
            .Randn(NoiseOracle.Shape(expected.GetProperty("shape")));

        AssertBits(NoiseOracle.Floats(expected.GetProperty("values")), actual, label);
    }

    [Theory]
    [MemberData(nameof(SequenceCases))]
    public void Successive_draws_continue_the_stream_like_one_torch_generator(int index, string label)
    {
        var expected = NoiseOracle.Load("torch_cpu_randn_extra.json").GetProperty("sequences")[index];
        var generator = new TorchGenerator(NoiseOracle.Seed(expected.GetProperty("seed")));

        foreach (var step in expected.GetProperty("steps").EnumerateArray())
        {
            var actual = generator.Randn(NoiseOracle.Shape(step.GetProperty("shape")));
            AssertBits(NoiseOracle.Floats(step.GetProperty("values")), actual, $"{label} shape {step.GetProperty("shape")}");
        }
    }

    [Theory]
    [MemberData(nameof(LargeCases))]
    public void Large_latents_match_torch_bit_for_bit(int index, string label)
    {
        var expected = NoiseOracle.Load("torch_cpu_randn_extra.json").GetProperty("large")[index];
        var actual = new TorchGenerator(NoiseOracle.Seed(expected.GetProperty("seed")))
            .Randn(NoiseOracle.Shape(expected.GetProperty("shape")));

        AssertBits(NoiseOracle.Floats(expected.GetProperty("first8")), actual.AsSpan(0, 8), label);
        AssertBits(NoiseOracle.Floats(expected.GetProperty("last8")), actual.AsSpan(actual.Length - 8), label);
        var digest = Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(actual.AsSpan())));
        Assert.Equal(expected.GetProperty("bits_sha256").GetString(), digest);
    }

    [SkippableTheory]
    [MemberData(nameof(DefaultKernelCases))]
    public void Default_kernel_matches_torch_without_avx2_where_the_c_library_is_glibc(int index, string label)
    {
        // This kernel calls the C library's logf/cosf/sinf, as .NET's MathF does; the reference came from glibc.
        Skip.IfNot(OperatingSystem.IsLinux(), "The reference values were drawn with glibc's float functions.");
        var expected = NoiseOracle.Load("torch_cpu_randn_default_kernel.json").GetProperty("cases")[index];
        var actual = new TorchGenerator(NoiseOracle.Seed(expected.GetProperty("seed")), TorchCpuKernel.Default)
            .Randn(NoiseOracle.Shape(expected.GetProperty("shape")));

        if (expected.TryGetProperty("values", out var values))
            AssertBits(NoiseOracle.Floats(values), actual, label);
        var digest = Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(actual.AsSpan())));
        Assert.Equal(expected.GetProperty("bits_sha256").GetString(), digest);
    }

    [Fact]
    public void Kernels_draw_the_same_stream_and_differ_only_in_rounding()
    {
        var avx2 = new TorchGenerator(32).Randn([1, 4, 64, 64]);
        var portable = new TorchGenerator(32, TorchCpuKernel.Default).Randn([1, 4, 64, 64]);

        Assert.NotEqual(avx2, portable);
        Assert.All(avx2.Zip(portable), pair => Assert.Equal(pair.First, pair.Second, 1e-5f));
    }

    [Fact]
    public void Manual_seed_restarts_the_stream_and_drops_the_kept_normal()
    {
        var generator = new TorchGenerator(3);
        var first = generator.Randn([3]);
        generator.Randn([20]);

        generator.ManualSeed(3);

        Assert.Equal(first, generator.Randn([3]));
    }

    [Fact]
    public void Seeds_share_an_engine_when_their_low_32_bits_agree_as_in_torch()
    {
        // torch's MT19937 keeps only the low 32 bits, so 2^32 draws what seed 0 draws.
        Assert.Equal(new TorchGenerator(0).Randn([1, 4, 8, 8]), new TorchGenerator(1UL << 32).Randn([1, 4, 8, 8]));
        Assert.Equal(new TorchGenerator(ulong.MaxValue).Randn([5]), TorchGenerator.FromSignedSeed(-1).Randn([5]));
    }

    [Fact]
    public void Fill_draws_what_randn_draws_for_the_same_length()
    {
        var buffer = new float[1000];
        new TorchGenerator(11).FillStandardNormal(buffer);

        Assert.Equal(new TorchGenerator(11).Randn([10, 100]), buffer);
    }

    [Fact]
    public void Noise_for_a_512_pixel_latent_is_fast_and_standard_normal()
    {
        var generator = new TorchGenerator(1);
        generator.Randn([1, 4, 128, 128]);
        var clock = Stopwatch.StartNew();
        var values = generator.Randn([1, 4, 128, 128]);
        clock.Stop();

        var mean = values.Average(v => (double)v);
        var variance = values.Average(v => ((double)v - mean) * ((double)v - mean));
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(variance, 0.98, 1.02);
        Assert.True(clock.ElapsedMilliseconds < 200, $"[1,4,128,128] took {clock.ElapsedMilliseconds} ms");
    }

    private static void AssertBits(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string label)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{label}: value {i} is {actual[i]:R} (0x{BitConverter.SingleToInt32Bits(actual[i]):x8}), torch gives {expected[i]:R} (0x{BitConverter.SingleToInt32Bits(expected[i]):x8}).");
        }
    }
}
