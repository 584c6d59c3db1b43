namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// The YOLOX detector's input as its demo code makes it: the 8-bit image scaled by r = min(inputH / h, inputW / w)
/// (bilinear with half-pixel centres, OpenCV's INTER_LINEAR) to ⌊w·r⌋ × ⌊h·r⌋, placed at the top left of an
/// inputH × inputW canvas filled with grey 114, as planar RGB in 0..255 (no normalisation).
/// </summary>
public static class DetectorLetterbox
{
    /// <summary>The grey the padding is filled with.</summary>
    public const float Fill = 114f;

    /// <summary>The detector input [3, inputHeight, inputWidth] and the scale r from image to input pixels.</summary>
    /// <param name="rgb">Planar RGB [3, height, width] in 0..1.</param>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    /// <param name="inputHeight">The detector's input height.</param>
    /// <param name="inputWidth">The detector's input width.</param>
    public static (float[] Pixels, float Ratio) Fit(ReadOnlySpan<float> rgb, int height, int width, int inputHeight, int inputWidth)
    {
        if (rgb.Length != 3L * height * width) throw new ArgumentException($"expected 3 × {height} × {width} values, got {rgb.Length}", nameof(rgb));
        var ratio = Math.Min((double)inputHeight / height, (double)inputWidth / width);
        int scaledHeight = Math.Clamp((int)(height * ratio), 1, inputHeight), scaledWidth = Math.Clamp((int)(width * ratio), 1, inputWidth);
        var plane = inputHeight * inputWidth;
        var pixels = new float[3 * plane];
        Array.Fill(pixels, Fill);
        double scaleY = (double)height / scaledHeight, scaleX = (double)width / scaledWidth;
        for (var c = 0; c < 3; c++)
        {
            var source = rgb.Slice(c * height * width, height * width);
            for (var y = 0; y < scaledHeight; y++)
            {
                var (y0, y1, fy) = Taps((y + 0.5) * scaleY - 0.5, height);
                for (var x = 0; x < scaledWidth; x++)
                {
                    var (x0, x1, fx) = Taps((x + 0.5) * scaleX - 0.5, width);
                    double top = Byte(source[y0 * width + x0]) * (1 - fx) + Byte(source[y0 * width + x1]) * fx;
                    double bottom = Byte(source[y1 * width + x0]) * (1 - fx) + Byte(source[y1 * width + x1]) * fx;
                    // The demo casts the resized image back to uint8.
                    pixels[c * plane + y * inputWidth + x] = (float)Math.Floor(top * (1 - fy) + bottom * fy);
                }
            }
        }
        return (pixels, (float)ratio);
    }

    // An image in 0..1 as the 8-bit values the annotators receive (ComfyUI truncates image × 255 to uint8).
    private static double Byte(float value) => Math.Clamp(Math.Floor(value * 255.0), 0, 255);

    private static (int Low, int High, double Fraction) Taps(double position, int size)
    {
        var clamped = Math.Clamp(position, 0, size - 1);
        var low = (int)Math.Floor(clamped);
        return (low, Math.Min(low + 1, size - 1), clamped - low);
    }
}
