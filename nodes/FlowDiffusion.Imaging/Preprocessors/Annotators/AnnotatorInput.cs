namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The ControlNet annotators' <c>resize_image_with_pad</c> (sd-webui-controlnet, copied by comfyui_controlnet_aux): the
/// image scaled so its short side is the detect resolution (INTER_CUBIC when that enlarges it, INTER_AREA otherwise;
/// sides round(side · resolution / short side), half to even), then padded on the bottom and right to multiples of 64
/// by repeating the edge. The annotator runs on the padded image and the padding is cropped off its result, so the result
/// has the scaled size, not the input's.
/// </summary>
public static class AnnotatorInput
{
    /// <summary>The scaled size (before padding) for an image of <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static (int Height, int Width) ScaledSize(int height, int width, int resolution)
    {
        var k = (double)resolution / Math.Min(height, width);
        return ((int)Math.Round(height * k), (int)Math.Round(width * k));
    }

    /// <summary>The padded image and the size to crop the annotator's result back to.</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The short side it is scaled to.</param>
    /// <param name="enlargeWithArea">Whether enlarging uses INTER_AREA too (aux's ScribbleDetector asks for it) rather than INTER_CUBIC.</param>
    public static (Rgb8Image Padded, int Height, int Width) ResizeWithPad(Rgb8Image image, int resolution, bool enlargeWithArea = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(resolution, 1);
        var (height, width) = ScaledSize(image.Height, image.Width, resolution);
        var enlarge = (double)resolution / Math.Min(image.Height, image.Width) > 1 && !enlargeWithArea;
        var scaled = enlarge ? OpenCvResize.Cubic(image, height, width) : OpenCvResize.Area(image, height, width);
        return (scaled.PadEdge(64), height, width);
    }
}
