using System.Buffers.Binary;
using FlowDiffusion.Editor.Running;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>Previews go to the browser as BMP data URLs, shrunk to node size.</summary>
public sealed class ImageDataUrlTests
{
    [Fact]
    public void A_large_preview_is_shrunk_by_nearest_pixel_to_the_largest_side()
    {
        const int side = 512;
        var pixels = new float[3 * side * side];
        // Red ramps with x, green with y, blue is 1: each kept pixel can be traced to its source.
        for (var y = 0; y < side; y++)
        {
            for (var x = 0; x < side; x++)
            {
                pixels[y * side + x] = x / 511f;
                pixels[side * side + y * side + x] = y / 511f;
                pixels[2 * side * side + y * side + x] = 1f;
            }
        }

        var bmp = Bytes(ImageDataUrl.Of(new Image(1, side, side, pixels), maxSide: 256));

        Assert.Equal(256, BinaryPrimitives.ReadInt32LittleEndian(bmp.AsSpan(18)));
        Assert.Equal(-256, BinaryPrimitives.ReadInt32LittleEndian(bmp.AsSpan(22)));
        Assert.Equal(54 + 256 * 256 * 3, bmp.Length);
        // Pixel (10, 3) of the preview is pixel (20, 6) of the image; BMP stores blue, green, red.
        var at = 54 + 3 * 256 * 3 + 10 * 3;
        Assert.Equal([255, (byte)Math.Round(6 / 511.0 * 255), (byte)Math.Round(20 / 511.0 * 255)], bmp[at..(at + 3)]);
    }

    [Fact]
    public void A_small_image_keeps_its_size()
    {
        var bmp = Bytes(ImageDataUrl.Of(new Image(1, 8, 16, new float[3 * 8 * 16]), maxSide: 256));

        Assert.Equal(16, BinaryPrimitives.ReadInt32LittleEndian(bmp.AsSpan(18)));
        Assert.Equal(-8, BinaryPrimitives.ReadInt32LittleEndian(bmp.AsSpan(22)));
    }

    private static byte[] Bytes(string dataUrl)
    {
        Assert.StartsWith("data:image/bmp;base64,", dataUrl);
        return Convert.FromBase64String(dataUrl["data:image/bmp;base64,".Length..]);
    }
}
