namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// <c>cv2.remap(image, map, None, cv2.INTER_LINEAR)</c> of an 8-bit RGB image with a float32 map, in OpenCV's fixed point:
/// each coordinate rounded (half to even) to 1/32 of a pixel, the four neighbours weighted by the products of those
/// fractions in 15 bits ((32 − a)(32 − b)·32 …), the sum rounded by (sum + 2¹⁴) >> 15; a neighbour outside the image
/// reads 0 (BORDER_CONSTANT), as does a pixel whose coordinates fall wholly outside.
/// </summary>
public static class OpenCvRemap
{
    private const int TableBits = 5, TableSize = 1 << TableBits;

    /// <summary>The image sampled at (<paramref name="mapX"/>, <paramref name="mapY"/>) for each output pixel (row-major, the map's size).</summary>
    public static Rgb8Image Bilinear(Rgb8Image source, int height, int width, ReadOnlySpan<float> mapX, ReadOnlySpan<float> mapY)
    {
        if (mapX.Length != (long)height * width || mapY.Length != mapX.Length) throw new ArgumentException($"the maps must hold {height} × {width} coordinates");
        var pixels = new byte[height * width * 3];
        for (var i = 0; i < mapX.Length; i++)
        {
            // saturate_cast<int>(x · 32): rounded half to even, clamped to int's range.
            int x = Fixed(mapX[i]), y = Fixed(mapY[i]);
            int sx = x >> TableBits, sy = y >> TableBits, ax = x & (TableSize - 1), ay = y & (TableSize - 1);
            if (sx >= source.Width || sx + 1 < 0 || sy >= source.Height || sy + 1 < 0) continue;
            int w00 = (TableSize - ax) * (TableSize - ay) * 32, w01 = ax * (TableSize - ay) * 32, w10 = (TableSize - ax) * ay * 32, w11 = ax * ay * 32;
            for (var c = 0; c < 3; c++)
            {
                var sum = At(source, sy, sx, c) * w00 + At(source, sy, sx + 1, c) * w01 + At(source, sy + 1, sx, c) * w10 + At(source, sy + 1, sx + 1, c) * w11;
                pixels[3 * i + c] = (byte)Math.Clamp((sum + (1 << 14)) >> 15, 0, 255);
            }
        }

        return new Rgb8Image(height, width, pixels);
    }

    private static int Fixed(float coordinate)
    {
        var scaled = Math.Round((double)coordinate * TableSize, MidpointRounding.ToEven);
        return double.IsNaN(scaled) ? int.MinValue : (int)Math.Clamp(scaled, int.MinValue, int.MaxValue);
    }

    private static int At(Rgb8Image image, int y, int x, int channel) =>
        (uint)y < (uint)image.Height && (uint)x < (uint)image.Width ? image.Pixels[3 * (y * image.Width + x) + channel] : 0;
}
