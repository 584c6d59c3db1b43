using FlowDiffusion.Formats.Safetensors;
using Xunit;

namespace FlowDiffusion.Formats.Tests;

/// <summary>
/// Rounding to fp8 as PyTorch's <c>.to(torch.float8_e4m3fn)</c> / <c>.to(torch.float8_e5m2)</c> does it, against a brute-force
/// reference: the nearest of every code's value (decoded values are proven in <see cref="Float8Tests"/>), ties to the
/// even code, on the grid extended by the code past the largest finite value (E4M3's 480, which is its NaN code;
/// E5M2's 65536, its infinity), so a value that rounds there, or lies beyond it, is NaN for E4M3 and infinite for E5M2.
/// Every float16 value (ties between fp8 neighbours among them), random float32 values of every magnitude, and the
/// edges by name.
/// </summary>
public sealed class Float8RoundingTests
{
    [Theory]
    [InlineData(0f, 0f)]
    [InlineData(1f, 1f)]
    [InlineData(1.0625f, 1f)] // halfway between 1 and 1.125: the even code (1)
    [InlineData(1.1875f, 1.25f)] // halfway between 1.125 and 1.25: the even code (1.25)
    [InlineData(448f, 448f)]
    [InlineData(464f, 448f)] // halfway to 480: 448's code is even
    [InlineData(464.01f, float.NaN)]
    [InlineData(1e6f, float.NaN)]
    [InlineData(float.PositiveInfinity, float.NaN)]
    [InlineData(0.001953125f, 0.001953125f)] // 2^-9, the smallest subnormal
    [InlineData(0.0009765625f, 0f)] // 2^-10, halfway to zero: zero's code is even
    [InlineData(0.0009766f, 0.001953125f)]
    [InlineData(-3.3f, -3.25f)]
    public void E4M3_rounds_to_the_nearest_value(float value, float expected) => Assert.Equal(expected, Float8Rounding.ToE4M3(value));

    [Theory]
    [InlineData(57344f, 57344f)]
    [InlineData(61439f, 57344f)]
    [InlineData(61440f, float.PositiveInfinity)] // halfway to 65536: 57344's code is odd
    [InlineData(-1e9f, float.NegativeInfinity)]
    [InlineData(float.NegativeInfinity, float.NegativeInfinity)]
    [InlineData(1.125f, 1f)] // halfway between 1 and 1.25
    [InlineData(1.375f, 1.5f)]
    [InlineData(1.52587890625e-05f, 1.52587890625e-05f)] // 2^-16, the smallest subnormal
    public void E5M2_rounds_to_the_nearest_value(float value, float expected) => Assert.Equal(expected, Float8Rounding.ToE5M2(value));

    [Fact]
    public void Negative_zero_keeps_its_sign_and_nan_stays_nan()
    {
        Assert.True(float.IsNegative(Float8Rounding.ToE4M3(-0f)));
        Assert.True(float.IsNegative(Float8Rounding.ToE5M2(-1e-30f)));
        Assert.True(float.IsNaN(Float8Rounding.ToE4M3(float.NaN)));
        Assert.True(float.IsNaN(Float8Rounding.ToE5M2(float.NaN)));
    }

    [Theory]
    [InlineData(SafetensorsDType.Float8E4M3)]
    [InlineData(SafetensorsDType.Float8E5M2)]
    public void Every_half_and_random_floats_round_as_the_brute_force_reference(SafetensorsDType type)
    {
        var random = new Random(8);
        var values = Enumerable.Range(0, 1 << 16).Select(bits => (float)BitConverter.UInt16BitsToHalf((ushort)bits))
            .Concat(Enumerable.Range(0, 20_000).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-30, 20)))))
            .ToArray();
        var rounded = values.ToArray();
        Float8Rounding.Round(rounded, type);
        var (decode, beyond, overflow) = type == SafetensorsDType.Float8E4M3
            ? ((Func<byte, float>)Float8.E4M3, 480f, float.NaN)
            : (Float8.E5M2, 65536f, float.PositiveInfinity);
        // The non-negative codes in order; the grid's last point is the code after the largest finite value.
        var grid = Enumerable.Range(0, 0x80).Select(c => (Code: c, Value: decode((byte)c))).Where(c => float.IsFinite(c.Value)).ToList();
        grid.Add((grid[^1].Code + 1, beyond));
        for (var i = 0; i < values.Length; i++)
        {
            var expected = Reference(values[i], grid, overflow);
            Assert.True(expected.Equals(rounded[i]) || (expected == 0 && rounded[i] == 0), $"{type} {values[i]:R}: {rounded[i]:R}, expected {expected:R}");
        }
    }

    private static float Reference(float value, List<(int Code, float Value)> grid, float overflow)
    {
        if (float.IsNaN(value)) return float.NaN;
        var magnitude = Math.Abs((double)value);
        var best = grid[0];
        foreach (var point in grid)
        {
            var (distance, bestDistance) = (Math.Abs(point.Value - magnitude), Math.Abs(best.Value - magnitude));
            if (distance < bestDistance || (distance == bestDistance && point.Code % 2 == 0)) best = point;
        }

        var result = best.Code == grid[^1].Code || magnitude > grid[^1].Value ? overflow : best.Value;
        return float.IsNaN(result) ? result : MathF.CopySign(result, value);
    }
}
