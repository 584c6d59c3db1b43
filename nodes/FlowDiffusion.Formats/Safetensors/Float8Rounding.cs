namespace FlowDiffusion.Formats.Safetensors;

/// <summary>
/// Rounds float32 values to the nearest value of an 8-bit float format (<see cref="Float8"/>), ties to the even code, as
/// PyTorch converts a tensor with <c>.to(torch.float8_e4m3fn)</c> or <c>.to(torch.float8_e5m2)</c>: what ComfyUI's
/// UNETLoader does to every weight when <c>weight_dtype</c> is an fp8 type.
/// </summary>
/// <remarks>
/// Out of range, the two formats differ as PyTorch makes them: E4M3 has no infinity, so a magnitude that rounds past
/// its largest value 448 (anything above 464) and an infinity become NaN; E5M2 rounds past 57344 to an infinity, as
/// IEEE 754 does. Below the smallest normal value (2⁻⁶ for E4M3, 2⁻¹⁴ for E5M2) values round to the subnormal grid.
/// </remarks>
public static class Float8Rounding
{
    /// <summary>The E4M3 (<c>float8_e4m3fn</c>) value nearest <paramref name="value"/>, as a float32.</summary>
    public static float ToE4M3(float value) => Round(value, mantissaBits: 3, minExponent: -6, largest: 448f, overflow: float.NaN);

    /// <summary>The E5M2 (<c>float8_e5m2</c>) value nearest <paramref name="value"/>, as a float32.</summary>
    public static float ToE5M2(float value) => Round(value, mantissaBits: 2, minExponent: -14, largest: 57344f, overflow: float.PositiveInfinity);

    /// <summary>Rounds every value in place to <paramref name="type"/> (<see cref="SafetensorsDType.Float8E4M3"/> or <see cref="SafetensorsDType.Float8E5M2"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is not an 8-bit float type.</exception>
    public static void Round(Span<float> values, SafetensorsDType type)
    {
        Func<float, float> round = type switch
        {
            SafetensorsDType.Float8E4M3 => ToE4M3,
            SafetensorsDType.Float8E5M2 => ToE5M2,
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "only the 8-bit float types round here"),
        };
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = round(values[i]);
        }
    }

    private static float Round(float value, int mantissaBits, int minExponent, float largest, float overflow)
    {
        if (float.IsNaN(value))
        {
            return float.NaN;
        }

        var magnitude = Math.Abs((double)value);
        if (magnitude == 0)
        {
            return value;
        }

        // The spacing of the format's values around the magnitude: 2^(exponent − mantissa bits), fixed below the
        // smallest normal exponent (the subnormals). Dividing by a power of two and rounding a double are exact.
        var exponent = double.IsInfinity(magnitude) ? int.MaxValue : Math.Max(Math.ILogB(magnitude), minExponent);
        var rounded = exponent == int.MaxValue ? double.PositiveInfinity : Math.Round(Math.ScaleB(magnitude, mantissaBits - exponent), MidpointRounding.ToEven) * Math.ScaleB(1.0, exponent - mantissaBits);
        var result = rounded > largest ? overflow : (float)rounded;
        return float.IsNaN(result) ? result : MathF.CopySign(result, value);
    }
}
