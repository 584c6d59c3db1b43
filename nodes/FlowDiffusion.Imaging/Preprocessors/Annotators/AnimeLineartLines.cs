namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's anime lineart (LineartAnimeDetector): the image resized and padded (<see cref="AnnotatorInput"/>),
/// then INTER_CUBIC to the next multiples of 256; the network (given as <c>network</c>: planar RGB 0..255 → the tanh map
/// −1..1 at the same size) on it; each pixel map · 127.5 + 127.5 (float32) clipped and truncated to a byte; INTER_AREA back
/// to the padded size; 255 − that, so black lines on white; the padding cropped off.
/// </summary>
public static class AnimeLineartLines
{
    /// <summary>The side multiple the network needs (eight stride-2 levels).</summary>
    public const int Multiple = 256;

    /// <summary>The line image (grey in all three channels).</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="network">Runs the network on planar [3, height, width] values; returns height × width values.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, Func<float[], int, int, float[]> network)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        int fedHeight = (padded.Height + Multiple - 1) / Multiple * Multiple, fedWidth = (padded.Width + Multiple - 1) / Multiple * Multiple;
        var fed = OpenCvResize.Cubic(padded, fedHeight, fedWidth);
        var line = network(LineartLines.Planar(fed), fedHeight, fedWidth);
        var levels = new byte[line.Length];
        for (var i = 0; i < levels.Length; i++) levels[i] = LineartLines.Level(line[i] * 127.5f + 127.5f);
        var back = OpenCvResize.Area(Rgb8Image.Grey(fedHeight, fedWidth, levels), padded.Height, padded.Width);
        var inverted = new byte[padded.Height * padded.Width];
        for (var i = 0; i < inverted.Length; i++) inverted[i] = (byte)(255 - back.Pixels[3 * i]);
        return Rgb8Image.Grey(padded.Height, padded.Width, inverted).Crop(height, width);
    }
}
