using System.Buffers.Binary;
using System.IO.Compression;
using FlowDiffusion.Imaging;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Comfy.Api;

/// <summary>
/// The PNGs of the layer: the first image of a batch as 8-bit RGB (ComfyUI's binary preview frames) and 8-bit RGBA pixels
/// (an uploaded mask merged into its image's alpha).
/// </summary>
internal static class PreviewPng
{
    /// <summary>
    /// Image 0 of <paramref name="image"/> as an 8-bit RGB PNG without text chunks: the pixels image.save writes (its
    /// encoder, so the rounding has one source), for preview frames and SaveImageWebsocket's images.
    /// </summary>
    public static byte[] Encode(Image image)
    {
        using var png = new MemoryStream();
        PngEncoder.Write(png, image, 0, []);
        return png.ToArray();
    }

    /// <summary>8-bit RGBA pixels, row after row without padding, as a PNG.</summary>
    public static byte[] EncodeRgba(ReadOnlySpan<byte> rgba, int width, int height)
    {
        var raw = new byte[height * (1 + 4 * width)];
        for (var y = 0; y < height; y++) rgba.Slice(y * 4 * width, 4 * width).CopyTo(raw.AsSpan(y * (1 + 4 * width) + 1));
        return Write(raw, width, height, colourType: 6);
    }

    /// <summary>
    /// <paramref name="png"/> with a text chunk added after its header, as Pillow's PngInfo writes it (A1111's
    /// <c>parameters</c>): <see cref="PngEncoder.WriteText"/>.
    /// </summary>
    public static byte[] WithText(byte[] png, string keyword, string text)
    {
        const int headerEnd = 8 + 4 + 4 + 13 + 4;
        if (png.Length < headerEnd) throw new InvalidDataException("not a PNG");
        using var output = new MemoryStream();
        output.Write(png, 0, headerEnd);
        PngEncoder.WriteText(output, keyword, text);
        output.Write(png, headerEnd, png.Length - headerEnd);
        return output.ToArray();
    }

    // raw: the filtered scanlines (filter byte 0 each).
    private static byte[] Write(byte[] raw, int width, int height, byte colourType)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) zlib.Write(raw);
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = colourType; // 2: RGB, 6: RGBA
        PngEncoder.WriteChunk(png, "IHDR"u8, header);
        PngEncoder.WriteChunk(png, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        PngEncoder.WriteChunk(png, "IEND"u8, []);
        return png.ToArray();
    }
}
