namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The manga line annotator (comfyui_controlnet_aux's LineartMangaDetector, sd-webui-controlnet's lineart_anime_denoise):
/// the image resized and padded (<see cref="AnnotatorInput"/>) to the detect resolution, which aux first rounds up to a
/// multiple of 256; OpenCV's grey of it (<see cref="BinaryLines.Grey"/>) through the network (given as <c>network</c>: the
/// grey 0..255 in all three planes → the line drawing on 0..255, unclipped, at the same size); each pixel, as aux does it,
/// 255 − the line clipped and truncated to a byte, or, as the extension does it, 255 − the line (float32) clipped and
/// truncated, one level lower wherever the line has a fraction; the padding cropped off. White lines on black.
/// </summary>
public static class MangaLines
{
    /// <summary>The multiple aux rounds the detect resolution up to.</summary>
    public const int AuxMultiple = 256;

    /// <summary>The short side the network's input is scaled to for <paramref name="resolution"/>.</summary>
    public static int DetectResolution(int resolution, MangaLineVariant variant) =>
        variant == MangaLineVariant.Aux ? (int)Math.Min(int.MaxValue, (resolution + (long)AuxMultiple - 1) / AuxMultiple * AuxMultiple) : resolution;

    /// <summary>The line image (grey in all three channels).</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side, before aux's rounding).</param>
    /// <param name="variant">Whose rounding and inversion.</param>
    /// <param name="network">Runs the network on planar [3, height, width] values; returns height × width values.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, MangaLineVariant variant, Func<float[], int, int, float[]> network)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, DetectResolution(resolution, variant));
        var grey = Rgb8Image.Grey(padded.Height, padded.Width, BinaryLines.Grey(padded));
        var line = network(LineartLines.Planar(grey), padded.Height, padded.Width);
        var map = new byte[line.Length];
        for (var i = 0; i < map.Length; i++)
            map[i] = variant == MangaLineVariant.Aux ? (byte)(255 - LineartLines.Level(line[i])) : LineartLines.Level(255f - line[i]);
        return Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width);
    }
}
