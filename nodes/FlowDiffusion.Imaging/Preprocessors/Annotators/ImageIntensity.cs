namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's ImageIntensityDetector (sd-webui-controlnet's recolor_intensity): on the resized image
/// (<see cref="AnnotatorInput"/>), HSV's value (the largest of R, G, B) / 255 raised to the gamma and × 255, in float32,
/// truncated to a byte; grey in all three channels.
/// </summary>
public static class ImageIntensity
{
    /// <summary>The intensity map.</summary>
    public static Rgb8Image Apply(Rgb8Image image, double gamma, int resolution)
    {
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var exponent = (float)gamma;
        var map = new byte[padded.Height * padded.Width];
        for (var i = 0; i < map.Length; i++)
        {
            var value = Math.Max(Math.Max(padded.Pixels[3 * i], padded.Pixels[3 * i + 1]), padded.Pixels[3 * i + 2]) / 255f;
            map[i] = (byte)Math.Clamp(MathF.Pow(value, exponent) * 255f, 0f, 255f);
        }

        return Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width);
    }
}
