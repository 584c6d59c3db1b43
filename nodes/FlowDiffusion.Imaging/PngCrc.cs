namespace FlowDiffusion.Imaging;

/// <summary>
/// The PNG specification's CRC-32 (ISO 3309, reflected polynomial 0xEDB88320), eight bytes per step ("slicing by
/// 8"): a 512×512 image's pixel data is checksummed in well under a millisecond.
/// </summary>
internal static class PngCrc
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC of <paramref name="bytes"/> continued from a running value (start with 0xFFFFFFFF, finish by inverting).</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> bytes)
    {
        var table = Table.AsSpan();
        var i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            var low = crc ^ (uint)(bytes[i] | bytes[i + 1] << 8 | bytes[i + 2] << 16 | bytes[i + 3] << 24);
            crc = table[7 * 256 + (int)(low & 0xFF)] ^ table[6 * 256 + (int)((low >> 8) & 0xFF)]
                ^ table[5 * 256 + (int)((low >> 16) & 0xFF)] ^ table[4 * 256 + (int)(low >> 24)]
                ^ table[3 * 256 + bytes[i + 4]] ^ table[2 * 256 + bytes[i + 5]]
                ^ table[256 + bytes[i + 6]] ^ table[bytes[i + 7]];
        }
        for (; i < bytes.Length; i++) crc = table[(int)((crc ^ bytes[i]) & 0xFF)] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (var n = 0; n < 256; n++)
        {
            var c = (uint)n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        // Table k advances a byte's contribution by k further zero bytes.
        for (var k = 1; k < 8; k++)
        for (var n = 0; n < 256; n++)
        {
            var previous = table[(k - 1) * 256 + n];
            table[k * 256 + n] = table[(int)(previous & 0xFF)] ^ (previous >> 8);
        }
        return table;
    }
}
