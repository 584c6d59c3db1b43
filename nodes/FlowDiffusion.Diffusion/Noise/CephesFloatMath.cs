namespace FlowDiffusion.Diffusion.Noise;

/// <summary>
/// Single-precision log and sincos in the Cephes polynomial form that PyTorch's AVX2 normal sampler uses
/// (<c>avx_mathfun.h</c>), operation for operation, including the multiply-adds GCC fuses when it builds that
/// kernel with FMA enabled. Matching torch bit for bit depends on this exact order of roundings.
/// </summary>
internal static class CephesFloatMath
{
    private const float SqrtHalf = 0.707106781186547524f;
    private const float LogP0 = 7.0376836292E-2f;
    private const float LogP1 = -1.1514610310E-1f;
    private const float LogP2 = 1.1676998740E-1f;
    private const float LogP3 = -1.2420140846E-1f;
    private const float LogP4 = 1.4249322787E-1f;
    private const float LogP5 = -1.6668057665E-1f;
    private const float LogP6 = 2.0000714765E-1f;
    private const float LogP7 = -2.4999993993E-1f;
    private const float LogP8 = 3.3333331174E-1f;
    private const float LogQ1 = -2.12194440e-4f;
    private const float LogQ2 = 0.693359375f;

    private const float FourOverPi = 1.27323954473516f;
    private const float MinusDp1 = -0.78515625f;
    private const float MinusDp2 = -2.4187564849853515625e-4f;
    private const float MinusDp3 = -3.77489497744594108e-8f;
    private const float SinP0 = -1.9515295891E-4f;
    private const float SinP1 = 8.3321608736E-3f;
    private const float SinP2 = -1.6666654611E-1f;
    private const float CosP0 = 2.443315711809948E-005f;
    private const float CosP1 = -1.388731625493765E-003f;
    private const float CosP2 = 4.166664568298827E-002f;

    /// <summary>Natural logarithm for positive normal inputs (the sampler only passes values in (0, 1]).</summary>
    public static float Log(float x)
    {
        x = MathF.Max(x, BitConverter.Int32BitsToSingle(0x00800000));
        var bits = BitConverter.SingleToInt32Bits(x);
        var e = (float)((bits >>> 23) - 0x7f) + 1f;
        x = BitConverter.Int32BitsToSingle((bits & ~0x7f800000) | BitConverter.SingleToInt32Bits(0.5f));
        // Map the mantissa into [sqrt(1/2), sqrt(2)) and remove 1.
        if (x < SqrtHalf)
        {
            e -= 1f;
            x = x - 1f + x;
        }
        else
        {
            x -= 1f;
        }
        var z = x * x;
        var y = MathF.FusedMultiplyAdd(LogP0, x, LogP1);
        y = MathF.FusedMultiplyAdd(y, x, LogP2);
        y = MathF.FusedMultiplyAdd(y, x, LogP3);
        y = MathF.FusedMultiplyAdd(y, x, LogP4);
        y = MathF.FusedMultiplyAdd(y, x, LogP5);
        y = MathF.FusedMultiplyAdd(y, x, LogP6);
        y = MathF.FusedMultiplyAdd(y, x, LogP7);
        y = MathF.FusedMultiplyAdd(y, x, LogP8);
        y *= x;
        y = MathF.FusedMultiplyAdd(y, z, e * LogQ1);
        y = MathF.FusedMultiplyAdd(-z, 0.5f, y);
        return MathF.FusedMultiplyAdd(e, LogQ2, x + y);
    }

    /// <summary>Sine and cosine of a non-negative angle.</summary>
    public static void SinCos(float angle, out float sin, out float cos)
    {
        var x = MathF.Abs(angle);
        var octant = ((int)(x * FourOverPi) + 1) & ~1;
        var y = (float)octant;
        var sinSign = ((octant & 4) != 0) ^ (angle < 0);
        var cosSign = ((octant - 2) & 4) == 0;
        var usesSinPolynomial = (octant & 2) == 0;

        // Extended-precision reduction: x - y·π/4 with π/4 split into three parts.
        x = MathF.FusedMultiplyAdd(y, MinusDp1, x);
        x = MathF.FusedMultiplyAdd(y, MinusDp2, x);
        x = MathF.FusedMultiplyAdd(y, MinusDp3, x);

        var z = x * x;
        var cosPoly = MathF.FusedMultiplyAdd(CosP0, z, CosP1);
        cosPoly = MathF.FusedMultiplyAdd(cosPoly, z, CosP2);
        cosPoly *= z;
        cosPoly = MathF.FusedMultiplyAdd(cosPoly, z, -(z * 0.5f));
        cosPoly += 1f;

        var sinPoly = MathF.FusedMultiplyAdd(SinP0, z, SinP1);
        sinPoly = MathF.FusedMultiplyAdd(sinPoly, z, SinP2);
        sinPoly *= z;
        sinPoly = MathF.FusedMultiplyAdd(sinPoly, x, x);

        var sinValue = usesSinPolynomial ? sinPoly : cosPoly;
        var cosValue = usesSinPolynomial ? cosPoly : sinPoly;
        sin = sinSign ? -sinValue : sinValue;
        cos = cosSign ? -cosValue : cosValue;
    }
}
