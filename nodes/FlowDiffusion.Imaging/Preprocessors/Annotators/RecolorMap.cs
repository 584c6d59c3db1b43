namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The recolor annotators' shared step (sd-webui-controlnet's recolor_intensity and recolor_luminance, comfyui_controlnet_aux's
/// Recolorizer): one level per pixel of the resized image (<see cref="AnnotatorInput"/>), / 255 raised to the gamma and
/// × 255 in float32, truncated to a byte; grey in all three channels.
/// </summary>
public static class RecolorMap
{
    /// <summary>The map of <paramref name="level"/> (R, G, B → 0..255); resolution 0 keeps the image's size (the extension's modules do not scale).</summary>
    public static Rgb8Image Apply(Rgb8Image image, double gamma, int resolution, Func<byte, byte, byte, byte> level)
    {
        ArgumentNullException.ThrowIfNull(level);
        var (padded, height, width) = resolution == 0 ? (image, image.Height, image.Width) : AnnotatorInput.ResizeWithPad(image, resolution);
        var exponent = (float)gamma;
        var map = new byte[padded.Height * padded.Width];
        for (var i = 0; i < map.Length; i++)
        {
            var value = level(padded.Pixels[3 * i], padded.Pixels[3 * i + 1], padded.Pixels[3 * i + 2]) / 255f;
            map[i] = (byte)Math.Clamp(MathF.Pow(value, exponent) * 255f, 0f, 255f);
        }

        return Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width);
    }
}
