namespace FlowDiffusion.Imaging.Compositing;

/// <summary>
/// A1111's <c>masking.fill</c> (inpainting's "fill" content), in Pillow's 8-bit arithmetic: the image premultiplied and
/// pasted through the inverted mask (Pillow's <c>paste</c> blend, rounded), then for (radius, repeats) in (256, 1),
/// (64, 1), (16, 2), (4, 4), (2, 2), (0, 1) Pillow's <c>GaussianBlur(radius)</c> of it — three extended-box passes
/// across, then three down, each rounded to 8 bits — un-premultiplied (integer division) and alpha-composited
/// <c>repeats</c> times over a transparent accumulator (Pillow's <c>alpha_composite</c>); the accumulator's colour is the
/// result. Where the mask is 0 the image is kept exactly; under white the colours of the surroundings spread in.
/// </summary>
public static class MaskedFill
{
    // masking.fill's cascade: blur radius (Pillow's sigma) and how often the blurred image is composited.
    private static readonly (int Radius, int Repeats)[] Cascade = [(256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)];

    // Pillow's gaussian_blur default.
    private const int Passes = 3;

    /// <summary>
    /// Fills one planar image: its values and the mask are first rounded to 8 bits (round half to even of value × 255,
    /// clamped, as FlowDiffusion writes PNGs), the result is the filled bytes / 255.
    /// </summary>
    /// <param name="rgb">Planar [3, height, width] values in 0 … 1.</param>
    /// <param name="mask">One value per pixel, 0 … 1; 1 is filled.</param>
    /// <param name="height">The height.</param>
    /// <param name="width">The width.</param>
    public static float[] Fill(ReadOnlySpan<float> rgb, ReadOnlySpan<float> mask, int height, int width)
    {
        var plane = height * width;
        if (plane <= 0 || rgb.Length != 3 * plane || mask.Length != plane) throw new ArgumentException("the image must be 3 planes of the mask's size");
        var planar = new byte[3 * plane];
        PngEncoder.ToBytes(rgb, planar);
        var levels = new byte[plane];
        PngEncoder.ToBytes(mask, levels);
        var interleaved = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            interleaved[3 * i + c] = planar[c * plane + i];
        var filled = Fill(interleaved, levels, height, width);
        var result = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            result[c * plane + i] = filled[3 * i + c] / 255f;
        return result;
    }

    /// <summary>Fills an 8-bit image exactly as A1111's <c>masking.fill</c> with Pillow 9.x.</summary>
    /// <param name="rgb">Interleaved RGB bytes, row by row.</param>
    /// <param name="mask">One byte per pixel (Pillow's L mask); 255 is filled, 0 kept.</param>
    /// <param name="height">The height.</param>
    /// <param name="width">The width.</param>
    /// <returns>Interleaved RGB bytes.</returns>
    public static byte[] Fill(ReadOnlySpan<byte> rgb, ReadOnlySpan<byte> mask, int height, int width)
    {
        var plane = height * width;
        if (plane <= 0 || rgb.Length != 3 * plane || mask.Length != plane) throw new ArgumentException("the image must be RGB of the mask's size");

        // RGB → RGBA → RGBa (alpha 255: unchanged), pasted onto transparent black through 255 − mask: BLEND(m, 0, v).
        var masked = new byte[4 * plane];
        for (var i = 0; i < plane; i++)
        {
            var keep = 255 - mask[i];
            for (var c = 0; c < 3; c++) masked[4 * i + c] = Div255(rgb[3 * i + c] * keep);
            masked[4 * i + 3] = Div255(255 * keep);
        }

        var accumulator = new byte[4 * plane];
        foreach (var (radius, repeats) in Cascade)
        {
            var blurred = GaussianBlur(masked, height, width, radius);
            Unpremultiply(blurred);
            for (var r = 0; r < repeats; r++) AlphaComposite(accumulator, blurred);
        }

        var result = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            result[3 * i + c] = accumulator[4 * i + c];
        return result;
    }

    /// <summary>
    /// Pillow's extended box radius for a gaussian of standard deviation <paramref name="sigma"/> over <paramref name="passes"/>
    /// passes (Gwosdek et al.; <c>ImagingGaussianBlur</c>), in its float arithmetic.
    /// </summary>
    public static float BoxRadius(float sigma, int passes)
    {
        var sigma2 = sigma * sigma / passes;
        var length = (float)Math.Sqrt(12.0 * sigma2 + 1.0);
        var whole = (float)Math.Floor((length - 1.0) / 2.0);
        var fraction = (2 * whole + 1) * (whole * (whole + 1) - 3 * sigma2);
        fraction /= 6 * (sigma2 - (whole + 1) * (whole + 1));
        return whole + fraction;
    }

    // Pillow's GaussianBlur of 4-channel bytes: the box passes along each row, then along each column.
    private static byte[] GaussianBlur(byte[] pixels, int height, int width, float sigma)
    {
        var radius = BoxRadius(sigma, Passes);
        var result = (byte[])pixels.Clone();
        var line = new byte[4 * Math.Max(height, width)];
        var output = new byte[line.Length];
        for (var pass = 0; pass < Passes; pass++)
        for (var y = 0; y < height; y++)
        {
            Array.Copy(result, 4 * y * width, line, 0, 4 * width);
            BoxLine(line, output, width, radius);
            Array.Copy(output, 0, result, 4 * y * width, 4 * width);
        }

        for (var pass = 0; pass < Passes; pass++)
        for (var x = 0; x < width; x++)
        {
            for (var y = 0; y < height; y++) Array.Copy(result, 4 * (y * width + x), line, 4 * y, 4);
            BoxLine(line, output, height, radius);
            for (var y = 0; y < height; y++) Array.Copy(output, 4 * y, result, 4 * (y * width + x), 4);
        }

        return result;
    }

    // One pass of Pillow's ImagingLineBoxBlur32 over a line of 4-channel pixels: the window x − r … x + r (edges
    // repeated) weighted ww, the two pixels beyond it fw (the fractional radius), all in 24-bit fixed point, rounded.
    private static void BoxLine(byte[] line, byte[] output, int length, float floatRadius)
    {
        var radius = (int)floatRadius;
        var ww = (uint)(16777216f / (floatRadius * 2 + 1));
        var fw = (16777216u - (uint)(radius * 2 + 1) * ww) / 2;
        var last = length - 1;
        for (var c = 0; c < 4; c++)
        {
            uint At(int x) => line[4 * Math.Clamp(x, 0, last) + c];
            uint window = 0;
            for (var k = -radius; k <= radius; k++) window += At(k);
            for (var x = 0; x < length; x++)
            {
                var bulk = unchecked(window * ww + (At(x - radius - 1) + At(x + radius + 1)) * fw);
                output[4 * x + c] = (byte)((bulk + (1u << 23)) >> 24);
                window = unchecked(window + At(x + radius + 1) - At(x - radius));
            }
        }
    }

    // Pillow's RGBa → RGBA: colour · 255 / alpha, truncated and clipped, where alpha is neither 0 nor 255.
    private static void Unpremultiply(byte[] pixels)
    {
        for (var i = 0; i < pixels.Length; i += 4)
        {
            int alpha = pixels[i + 3];
            if (alpha is 0 or 255) continue;
            for (var c = 0; c < 3; c++) pixels[i + c] = (byte)Math.Min(255 * pixels[i + c] / alpha, 255);
        }
    }

    // Pillow's ImagingAlphaComposite of source over destination, in place, with its 7 extra bits and rounded divisions.
    private static void AlphaComposite(byte[] destination, byte[] source)
    {
        const int precision = 7;
        for (var i = 0; i < destination.Length; i += 4)
        {
            uint sourceAlpha = source[i + 3];
            if (sourceAlpha == 0) continue;
            var blend = destination[i + 3] * (255 - sourceAlpha);
            var alpha255 = sourceAlpha * 255 + blend;
            var coefficient1 = sourceAlpha * 255 * 255 * (1u << precision) / alpha255;
            var coefficient2 = 255 * (1u << precision) - coefficient1;
            for (var c = 0; c < 3; c++)
            {
                var value = source[i + c] * coefficient1 + destination[i + c] * coefficient2;
                destination[i + c] = (byte)(ShiftForDiv255(value + (0x80u << precision)) >> precision);
            }

            destination[i + 3] = (byte)ShiftForDiv255(alpha255 + 0x80);
        }
    }

    // Pillow's DIV255 (rounded division by 255) and SHIFTFORDIV255.
    private static byte Div255(int value) => (byte)ShiftForDiv255((uint)value + 128);

    private static uint ShiftForDiv255(uint value) => ((value >> 8) + value) >> 8;
}
