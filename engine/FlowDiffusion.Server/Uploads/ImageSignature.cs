namespace FlowDiffusion.Server.Uploads;

/// <summary>Recognises an image file by its leading bytes (its magic number), never by its name or declared type.</summary>
public static class ImageSignature
{
    /// <summary>How many leading bytes <see cref="ExtensionOf"/> needs to decide.</summary>
    public const int Length = 12;

    private static ReadOnlySpan<byte> Png => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>".png", ".jpg" or ".webp" for a file starting with <paramref name="header"/>; null for anything else.</summary>
    public static string? ExtensionOf(ReadOnlySpan<byte> header)
    {
        if (header.StartsWith(Png)) return ".png";
        if (header is [0xFF, 0xD8, 0xFF, ..]) return ".jpg";
        // RIFF container: "RIFF", a 4-byte size, then the form type "WEBP".
        if (header.Length >= 12 && header[..4].SequenceEqual("RIFF"u8) && header[8..12].SequenceEqual("WEBP"u8)) return ".webp";
        return null;
    }
}
