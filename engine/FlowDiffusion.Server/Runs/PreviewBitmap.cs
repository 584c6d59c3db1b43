using System.Buffers.Binary;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// Preview images as the event stream carries them: a BMP data URL (no codec needed, cheap to write on the sampling
/// thread's schedule), shrunk so that a per-step preview stays small. The editor shows the same bytes.
/// </summary>
public static class PreviewBitmap
{
    /// <summary>The largest side of a preview on the event stream, in pixels (an editor node is 240 wide).</summary>
    public const int MaxSide = 256;

    /// <summary>
    /// Item <paramref name="index"/> of <paramref name="image"/> as a 24-bit BMP data URL, shrunk (nearest pixel) so
    /// neither side exceeds <paramref name="maxSide"/>: a node-sized preview need not carry a 512² image per step.
    /// </summary>
    public static string DataUrl(Image image, int index = 0, int maxSide = int.MaxValue)
    {
        var shrink = Math.Max(1, (Math.Max(image.Width, image.Height) + maxSide - 1) / maxSide);
        int width = Math.Max(1, image.Width / shrink), height = Math.Max(1, image.Height / shrink);
        var stride = (width * 3 + 3) & ~3;
        var bytes = new byte[54 + stride * height];
        bytes[0] = (byte)'B';
        bytes[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(2), bytes.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), width);
        // A negative height stores rows top-down, as the planar buffer does.
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), -height);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(28), 24);
        var pixels = image.PixelsOf(index);
        var plane = image.Width * image.Height;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var at = 54 + y * stride + x * 3;
                var p = y * shrink * image.Width + x * shrink;
                bytes[at] = Byte(pixels[2 * plane + p]);
                bytes[at + 1] = Byte(pixels[plane + p]);
                bytes[at + 2] = Byte(pixels[p]);
            }
        }
        return "data:image/bmp;base64," + Convert.ToBase64String(bytes);
    }

    private static byte Byte(float value) => (byte)Math.Clamp(MathF.Round(value * 255f), 0f, 255f);
}
