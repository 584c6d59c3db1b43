namespace FlowDiffusion.Formats.Safetensors;

/// <summary>
/// The two 8-bit float formats safetensors files store (PyTorch's <c>float8_e4m3fn</c> and <c>float8_e5m2</c>, the
/// OCP 8-bit floating point specification's E4M3 and E5M2), decoded to float32 exactly: every value of both fits.
/// </summary>
/// <remarks>
/// E4M3 has a sign bit, 4 exponent bits (bias 7) and 3 mantissa bits, no infinities, and one NaN per sign
/// (<c>S.1111.111</c>), so its largest value is 448. E5M2 has 5 exponent bits (bias 15) and 2 mantissa bits and follows
/// IEEE 754: an all-ones exponent is an infinity or a NaN. In both an all-zero exponent is subnormal.
/// </remarks>
public static class Float8
{
    private static readonly float[] E4M3Values = Table(exponentBits: 4, mantissaBits: 3, e4m3: true);
    private static readonly float[] E5M2Values = Table(exponentBits: 5, mantissaBits: 2, e4m3: false);

    /// <summary>The value of an E4M3 (<c>F8_E4M3</c>) byte.</summary>
    public static float E4M3(byte value) => E4M3Values[value];

    /// <summary>The value of an E5M2 (<c>F8_E5M2</c>) byte.</summary>
    public static float E5M2(byte value) => E5M2Values[value];

    private static float[] Table(int exponentBits, int mantissaBits, bool e4m3)
    {
        var bias = (1 << (exponentBits - 1)) - 1;
        var topExponent = (1 << exponentBits) - 1;
        var mantissaMask = (1 << mantissaBits) - 1;
        var values = new float[256];
        for (var code = 0; code < 256; code++)
        {
            var sign = (code & 0x80) != 0 ? -1f : 1f;
            var exponent = (code >> mantissaBits) & topExponent;
            var mantissa = code & mantissaMask;
            float magnitude;
            if (exponent == topExponent && (!e4m3 || mantissa == mantissaMask))
            {
                magnitude = e4m3 || mantissa != 0 ? float.NaN : float.PositiveInfinity;
            }
            else if (exponent == 0)
            {
                magnitude = MathF.ScaleB(mantissa, 1 - bias - mantissaBits);
            }
            else
            {
                magnitude = MathF.ScaleB(mantissa + (1 << mantissaBits), exponent - bias - mantissaBits);
            }

            values[code] = sign * magnitude;
        }

        return values;
    }
}
