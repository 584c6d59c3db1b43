namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's BinaryPreprocessor: on the resized and padded image (<see cref="AnnotatorInput"/>), OpenCV's
/// grey level ((9798 R + 19235 G + 3735 B + 2¹⁴) >> 15), white where it is above the threshold, black elsewhere. A
/// threshold of 0 or 255 means Otsu's: the level that best splits the padded image's histogram in two, as OpenCV's
/// THRESH_OTSU computes it.
/// </summary>
public static class BinaryLines
{
    /// <summary>The white-on-black map and the threshold used.</summary>
    public static (Rgb8Image Map, int Threshold) Apply(Rgb8Image image, int threshold, int resolution)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threshold, 255);
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var grey = Grey(padded);
        var level = threshold is 0 or 255 ? Otsu(grey) : threshold;
        var map = new byte[grey.Length];
        for (var i = 0; i < map.Length; i++) map[i] = grey[i] > level ? (byte)255 : (byte)0;
        return (Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width), level);
    }

    /// <summary><c>cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)</c> of 8-bit RGB (OpenCV 4's 15-bit fixed point).</summary>
    public static byte[] Grey(Rgb8Image image)
    {
        var grey = new byte[image.Height * image.Width];
        for (var i = 0; i < grey.Length; i++)
            grey[i] = (byte)((image.Pixels[3 * i] * 9798 + image.Pixels[3 * i + 1] * 19235 + image.Pixels[3 * i + 2] * 3735 + (1 << 14)) >> 15);
        return grey;
    }

    /// <summary>
    /// Otsu's threshold as OpenCV computes it: the level i maximising q₁q₂(μ₁ − μ₂)² over the histogram (the first on ties),
    /// levels where either class is (almost) empty skipped.
    /// </summary>
    public static int Otsu(byte[] grey)
    {
        var histogram = new long[256];
        foreach (var g in grey) histogram[g]++;
        var scale = 1.0 / grey.Length;
        var mu = 0.0;
        for (var i = 0; i < 256; i++) mu += i * (double)histogram[i];
        mu *= scale;
        double mu1 = 0, q1 = 0, bestSigma = 0;
        var best = 0;
        const double epsilon = 1.1920928955078125e-07;
        for (var i = 0; i < 256; i++)
        {
            var p = histogram[i] * scale;
            mu1 *= q1;
            q1 += p;
            var q2 = 1.0 - q1;
            if (Math.Min(q1, q2) < epsilon || Math.Max(q1, q2) > 1.0 - epsilon) continue;
            mu1 = (mu1 + i * p) / q1;
            var mu2 = (mu - q1 * mu1) / q2;
            var sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
            if (sigma > bestSigma)
            {
                bestSigma = sigma;
                best = i;
            }
        }

        return best;
    }
}
