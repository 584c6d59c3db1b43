namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's LineartStandardPreprocessor (sd-webui-controlnet's lineart_standard): on the resized and
/// padded image (<see cref="AnnotatorInput"/>) in float32, the intensity min over R, G, B of (gaussian(σ) − pixel),
/// clamped to 0..255, divided by max(16, the median of the intensities above the threshold) (16 when none is), × 127,
/// clamped and truncated to a byte. Dark lines thinner than the blur come out white on black.
/// </summary>
public static class StandardLineart
{
    /// <summary>The line map (grey in all three channels).</summary>
    public static Rgb8Image Apply(Rgb8Image image, double sigma, int intensityThreshold, int resolution, CancellationToken cancellationToken = default)
    {
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var intensity = new float[padded.Height * padded.Width];
        Array.Fill(intensity, float.PositiveInfinity);
        foreach (var plane in padded.ChannelPlanes())
        {
            var blurred = OpenCvGaussianBlur.Blur(plane, padded.Height, padded.Width, sigma, cancellationToken);
            for (var i = 0; i < intensity.Length; i++) intensity[i] = Math.Min(intensity[i], blurred[i] - plane[i]);
        }

        for (var i = 0; i < intensity.Length; i++) intensity[i] = Math.Clamp(intensity[i], 0f, 255f);

        var above = intensity.Where(v => v > intensityThreshold).ToArray();
        Array.Sort(above);
        var median = above.Length == 0 ? float.NaN
            : above.Length % 2 == 1 ? above[above.Length / 2] : (above[above.Length / 2 - 1] + above[above.Length / 2]) / 2f;
        var divisor = float.IsNaN(median) ? 16f : Math.Max(16f, median);
        var map = new byte[intensity.Length];
        for (var i = 0; i < map.Length; i++) map[i] = (byte)Math.Clamp(intensity[i] / divisor * 127f, 0f, 255f);
        return Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width);
    }
}
