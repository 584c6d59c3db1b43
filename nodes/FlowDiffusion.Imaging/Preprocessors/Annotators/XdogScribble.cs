namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's Scribble_XDoG_Preprocessor (ControlNet 1.1's scribble_xdog): on the resized and padded image
/// (<see cref="AnnotatorInput"/>) in float32, d = min over R, G, B of (gaussian(5) − gaussian(0.5)); dog = 255 − d clamped
/// to 0..255 and truncated to a byte; white where 2·(255 − dog) exceeds the threshold. The doubling is done in uint8, as
/// the original's numpy code does, so it wraps at 256: a pixel more than 127 levels darker than its surroundings counts
/// as 2·(255 − dog) − 256, and the middle of very dark, wide strokes comes out black.
/// </summary>
public static class XdogScribble
{
    /// <summary>The scribble map (0 or 255 in all three channels).</summary>
    public static Rgb8Image Apply(Rgb8Image image, int threshold, int resolution, CancellationToken cancellationToken = default)
    {
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var planes = padded.ChannelPlanes();
        var fine = planes.Select(p => OpenCvGaussianBlur.Blur(p, padded.Height, padded.Width, 0.5, cancellationToken)).ToArray();
        var coarse = planes.Select(p => OpenCvGaussianBlur.Blur(p, padded.Height, padded.Width, 5.0, cancellationToken)).ToArray();
        var map = new byte[padded.Height * padded.Width];
        for (var i = 0; i < map.Length; i++)
        {
            var d = Math.Min(Math.Min(coarse[0][i] - fine[0][i], coarse[1][i] - fine[1][i]), coarse[2][i] - fine[2][i]);
            var dog = (byte)Math.Clamp(255f - d, 0f, 255f);
            var doubled = (byte)(2 * (255 - dog));
            map[i] = doubled > threshold ? (byte)255 : (byte)0;
        }

        return Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width);
    }
}
