using FlowDiffusion.Formats.Safetensors;
using Xunit;

namespace FlowDiffusion.Formats.Tests;

/// <summary>
/// The fp8 types against the OCP 8-bit floating point specification: its named values (largest, smallest normal and
/// subnormal, NaN and infinity codes), E5M2 as the top byte of an IEEE half for all 256 codes, E4M3 against float32 bits
/// assembled from its fields for all 256, and both read from a file.
/// </summary>
public sealed class Float8Tests
{
    [Theory]
    [InlineData(0x00, 0f)]
    [InlineData(0x01, 0.001953125f)] // smallest subnormal, 2^-9
    [InlineData(0x07, 0.013671875f)] // largest subnormal, 7 · 2^-9
    [InlineData(0x08, 0.015625f)] // smallest normal, 2^-6
    [InlineData(0x38, 1f)]
    [InlineData(0x3C, 1.5f)]
    [InlineData(0x77, 240f)]
    [InlineData(0x7E, 448f)] // largest: no infinities, so the all-ones exponent holds values
    [InlineData(0xFE, -448f)]
    [InlineData(0xB8, -1f)]
    public void E4M3_decodes_the_specifications_named_values(int code, float value) => Assert.Equal(value, Float8.E4M3((byte)code));

    [Theory]
    [InlineData(0x01, 1.52587890625e-05f)] // 2^-16
    [InlineData(0x04, 6.103515625e-05f)] // 2^-14
    [InlineData(0x3C, 1f)]
    [InlineData(0x7B, 57344f)]
    [InlineData(0xFB, -57344f)]
    public void E5M2_decodes_the_specifications_named_values(int code, float value) => Assert.Equal(value, Float8.E5M2((byte)code));

    [Fact]
    public void Nan_and_infinity_codes_decode_as_such()
    {
        Assert.True(float.IsNaN(Float8.E4M3(0x7F)) && float.IsNaN(Float8.E4M3(0xFF)));
        Assert.Equal(float.PositiveInfinity, Float8.E5M2(0x7C));
        Assert.Equal(float.NegativeInfinity, Float8.E5M2(0xFC));
        Assert.All(new byte[] { 0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF }, c => Assert.True(float.IsNaN(Float8.E5M2(c))));
        Assert.True(float.IsNegative(Float8.E4M3(0x80)) && Float8.E4M3(0x80) == 0);
        Assert.Equal(254, Enumerable.Range(0, 256).Count(c => !float.IsNaN(Float8.E4M3((byte)c))));
    }

    [Fact]
    public void Every_E5M2_code_is_the_half_whose_top_byte_it_is()
    {
        for (var code = 0; code < 256; code++)
        {
            var half = (float)BitConverter.UInt16BitsToHalf((ushort)(code << 8));
            Assert.True(half.Equals(Float8.E5M2((byte)code)), $"0x{code:X2}: {Float8.E5M2((byte)code)}, expected {half}");
        }
    }

    [Fact]
    public void Every_E4M3_code_is_the_float32_its_fields_give()
    {
        for (var code = 0; code < 256; code++)
        {
            Assert.True(Fields(code).Equals(Float8.E4M3((byte)code)), $"0x{code:X2}: {Float8.E4M3((byte)code)}, expected {Fields(code)}");
        }
    }

    [Fact]
    public void Fp8_tensors_read_as_float32()
    {
        var path = Path.Combine(Path.GetTempPath(), "flowdiffusion-fp8-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            SafetensorsWriter.Write(path, [
                ("e4m3", SafetensorsDType.Float8E4M3, [2, 3], [0x00, 0x38, 0xBC, 0x7E, 0x01, 0x44]),
                ("e5m2", SafetensorsDType.Float8E5M2, [6], [0x00, 0x38, 0xBC, 0x7B, 0x01, 0x44])]);
            using var file = SafetensorsFile.Open(path);
            Assert.Equal([0f, 1f, -1.5f, 448f, 0.001953125f, 3f], file.ReadFloat32("e4m3"));
            Assert.Equal([0f, 0.5f, -1f, 57344f, 1.52587890625e-05f, 4f], file.ReadFloat32("e5m2"));
            Assert.True(SafetensorsDTypes.ConvertsToFloat32(SafetensorsDType.Float8E4M3) && SafetensorsDTypes.ConvertsToFloat32(SafetensorsDType.Float8E5M2));
        }
        finally
        {
            File.Delete(path);
        }
    }

    // E4M3 from its fields: a normal value's float32 has the same sign and mantissa bits and the exponent rebiased from 7
    // to 127; a subnormal is mantissa/8 · 2^-6; S.1111.111 is NaN.
    private static float Fields(int code)
    {
        var (sign, exponent, mantissa) = (code >> 7, (code >> 3) & 0xF, code & 7);
        if (exponent == 0xF && mantissa == 7) return float.NaN;
        var magnitude = exponent == 0 ? mantissa / 8f / 64f : BitConverter.Int32BitsToSingle(((exponent - 7 + 127) << 23) | (mantissa << 20));
        return sign == 1 ? -magnitude : magnitude;
    }
}
