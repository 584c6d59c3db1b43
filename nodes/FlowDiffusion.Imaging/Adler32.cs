namespace FlowDiffusion.Imaging;

/// <summary>
/// The Adler-32 checksum that ends a zlib stream (RFC 1950): A = 1 + Σ bytes, B = Σ of A after each byte, both mod
/// 65521, as B·65536 + A. Checksums of consecutive pieces combine without reading the bytes again.
/// </summary>
internal static class Adler32
{
    private const uint Modulus = 65521;

    // The most bytes summed before B can overflow 32 bits (zlib's NMAX).
    private const int Block = 5552;

    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static uint Of(ReadOnlySpan<byte> data)
    {
        uint a = 1, b = 0;
        while (!data.IsEmpty)
        {
            var block = data[..Math.Min(Block, data.Length)];
            foreach (var value in block)
            {
                a += value;
                b += a;
            }
            a %= Modulus;
            b %= Modulus;
            data = data[block.Length..];
        }
        return b << 16 | a;
    }

    /// <summary>
    /// The checksum of piece 1 followed by piece 2, from their checksums and piece 2's length: each of piece 2's
    /// running sums grows by piece 1's bytes (A₁ − 1), so A = A₁ + A₂ − 1 and B = B₁ + B₂ + length₂·(A₁ − 1).
    /// </summary>
    public static uint Combine(uint first, uint second, long secondLength)
    {
        ulong a1 = first & 0xFFFF, b1 = first >> 16, a2 = second & 0xFFFF, b2 = second >> 16;
        var shift = (ulong)(secondLength % Modulus) * ((a1 + Modulus - 1) % Modulus) % Modulus;
        var a = (a1 + a2 + Modulus - 1) % Modulus;
        var b = (b1 + b2 + shift) % Modulus;
        return (uint)(b << 16 | a);
    }
}
