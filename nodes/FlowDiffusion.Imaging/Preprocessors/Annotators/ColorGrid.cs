namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's ColorPreprocessor (the T2I-Adapter colour annotator): the image scaled with INTER_AREA so its
/// short side is the resolution (the long side round(long · resolution / short), half to even), shrunk with
/// INTER_CUBIC to its sides ÷ 64 (integer division: one colour per 64-pixel cell, sampled by the cubic's four taps, not
/// averaged), then enlarged back with INTER_NEAREST. The result has the scaled size.
/// </summary>
public static class ColorGrid
{
    /// <summary>The size of the result for an input of <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static (int Height, int Width) ResultSize(int height, int width, int resolution) =>
        height < width
            ? (resolution, (int)Math.Round((double)width / height * resolution))
            : ((int)Math.Round((double)height / width * resolution), resolution);

    /// <summary>The colour grid.</summary>
    public static Rgb8Image Apply(Rgb8Image image, int resolution)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(resolution, 64);
        var (height, width) = ResultSize(image.Height, image.Width, resolution);
        var scaled = OpenCvResize.Area(image, height, width);
        var cells = OpenCvResize.Cubic(scaled, height / 64, width / 64);
        return OpenCvResize.Nearest(cells, height, width);
    }
}
