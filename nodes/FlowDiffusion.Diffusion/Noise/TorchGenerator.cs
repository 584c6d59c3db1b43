using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Noise;

/// <summary>
/// PyTorch's CPU random generator, so that <c>torch.randn(shape, generator=torch.Generator().manual_seed(seed))</c>
/// and this class give the same float32 values bit for bit. Successive draws continue the stream as they do on
/// one torch generator. Not thread-safe: one generator per stream, as in torch.
/// </summary>
/// <remarks>
/// Tensors of 16 or more values take torch's vectorised path (uniforms for the whole tensor, Box–Muller on
/// blocks of 16, the last 16 redrawn when the size is not a multiple of 16); smaller ones take the scalar path
/// (double-precision Box–Muller whose second value is kept for the next draw).
/// </remarks>
public sealed class TorchGenerator : INoiseSource
{
    private const int Block = 16;
    private const int HalfBlock = Block / 2;
    private static readonly float TwoPi = (float)(2 * Math.PI);

    private MersenneTwister _engine;
    private double? _nextDoubleNormal;

    /// <summary>A generator after <c>manual_seed(seed)</c>.</summary>
    /// <param name="seed">The 64-bit seed; a negative Python seed is its two's complement, as in torch.</param>
    /// <param name="kernel">The torch CPU kernel to match; AVX2 is what torch runs on current x86-64 machines.</param>
    public TorchGenerator(ulong seed, TorchCpuKernel kernel = TorchCpuKernel.Avx2)
    {
        if (!Enum.IsDefined(kernel))
            throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "Unknown torch CPU kernel.");
        Seed = seed;
        Kernel = kernel;
        _engine = new MersenneTwister(seed);
    }

    /// <summary>The seed of the last <see cref="ManualSeed"/> (or the constructor).</summary>
    public ulong Seed { get; private set; }

    /// <summary>The torch CPU kernel whose rounding this generator reproduces for tensors of 16 or more values.</summary>
    public TorchCpuKernel Kernel { get; }

    /// <summary>A generator seeded like <c>manual_seed</c> with a signed seed (−1 is 2⁶⁴ − 1).</summary>
    public static TorchGenerator FromSignedSeed(long seed, TorchCpuKernel kernel = TorchCpuKernel.Avx2) =>
        new(unchecked((ulong)seed), kernel);

    /// <summary>Restarts the stream as <c>generator.manual_seed(seed)</c> does, dropping any kept normal value.</summary>
    public void ManualSeed(ulong seed)
    {
        Seed = seed;
        _engine = new MersenneTwister(seed);
        _nextDoubleNormal = null;
    }

    /// <summary>
    /// Draws <c>torch.randn(shape)</c>: the product of <paramref name="shape"/> standard normal values in row-major
    /// order (one value for an empty shape, as for a 0-dimensional tensor).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or the tensor is too large.</exception>
    public float[] Randn(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (var dimension in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dimension, nameof(shape));
            count *= dimension;
            if (count > Array.MaxLength)
                throw new ArgumentOutOfRangeException(nameof(shape), $"A tensor of shape [{string.Join(", ", shape.ToArray())}] is too large.");
        }
        var values = new float[count];
        FillStandardNormal(values);
        return values;
    }

    /// <inheritdoc />
    public void FillStandardNormal(Span<float> destination)
    {
        if (destination.Length >= Block)
            FillVectorised(destination);
        else
            FillScalar(destination);
    }

    /// <summary>The next raw 32-bit output of the Mersenne twister (torch's <c>random()</c>).</summary>
    public uint NextUInt32() => _engine.NextUInt32();

    /// <summary>Two outputs joined high word first (torch's <c>random64()</c>).</summary>
    public ulong NextUInt64()
    {
        ulong high = _engine.NextUInt32();
        return (high << 32) | _engine.NextUInt32();
    }

    private void FillVectorised(Span<float> destination)
    {
        for (var i = 0; i < destination.Length; i++)
            destination[i] = NextUniformFloat();
        for (var start = 0; start + Block <= destination.Length; start += Block)
            BoxMuller16(destination.Slice(start, Block));
        if (destination.Length % Block != 0)
        {
            // torch redraws the whole last block rather than handling a partial one.
            var tail = destination[^Block..];
            for (var i = 0; i < Block; i++)
                tail[i] = NextUniformFloat();
            BoxMuller16(tail);
        }
    }

    // The first 8 uniforms give radii, the last 8 angles; cosines fill the first half, sines the second.
    private void BoxMuller16(Span<float> block)
    {
        for (var j = 0; j < HalfBlock; j++)
        {
            float radius, sin, cos;
            if (Kernel == TorchCpuKernel.Avx2)
            {
                radius = MathF.Sqrt(-2f * CephesFloatMath.Log(1f - block[j]));
                CephesFloatMath.SinCos(TwoPi * block[j + HalfBlock], out sin, out cos);
            }
            else
            {
                radius = MathF.Sqrt(-2f * MathF.Log(1f - block[j]));
                // The portable kernel forms the angle in double (2.0f * pi<double> * u2) before rounding it.
                var theta = (float)(2.0 * Math.PI * block[j + HalfBlock]);
                (sin, cos) = (MathF.Sin(theta), MathF.Cos(theta));
            }
            block[j] = radius * cos;
            block[j + HalfBlock] = radius * sin;
        }
    }

    private void FillScalar(Span<float> destination)
    {
        for (var i = 0; i < destination.Length; i++)
            destination[i] = (float)NextDoubleNormal();
    }

    private double NextDoubleNormal()
    {
        if (_nextDoubleNormal is { } kept)
        {
            _nextDoubleNormal = null;
            return kept;
        }
        var u1 = NextUniformDouble();
        var u2 = NextUniformDouble();
        var radius = Math.Sqrt(-2.0 * Math.Log(1.0 - u2));
        var theta = 2.0 * Math.PI * u1;
        _nextDoubleNormal = radius * Math.Sin(theta);
        return radius * Math.Cos(theta);
    }

    // 24 random bits scaled to [0, 1), exactly representable in float.
    private float NextUniformFloat() => (_engine.NextUInt32() & 0xFFFFFF) * (1f / (1 << 24));

    // 53 random bits scaled to [0, 1).
    private double NextUniformDouble() => (NextUInt64() & ((1UL << 53) - 1)) * (1.0 / (1UL << 53));
}
