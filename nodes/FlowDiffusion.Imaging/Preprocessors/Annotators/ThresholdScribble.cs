namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's ScribblePreprocessor (its ScribbleDetector, not HED's fake scribble): on the resized and padded
/// image (<see cref="AnnotatorInput"/>, INTER_AREA when enlarging too, as the class asks), black where the darkest channel
/// is below 127 and white elsewhere, in all three channels.
/// </summary>
public static class ThresholdScribble
{
    /// <summary>The scribble map (0 or 255).</summary>
    public static Rgb8Image Apply(Rgb8Image image, int resolution)
    {
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution, enlargeWithArea: true);
        var map = new byte[padded.Height * padded.Width];
        for (var i = 0; i < map.Length; i++)
            map[i] = Math.Min(Math.Min(padded.Pixels[3 * i], padded.Pixels[3 * i + 1]), padded.Pixels[3 * i + 2]) < 127 ? (byte)0 : (byte)255;
        return Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width);
    }
}
