namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The ControlNet annotators' soft-edge pipeline (HED, PiDiNet): the network (planar RGB 0..255 → one value per pixel at the
/// same size) runs on the resized and padded image (<see cref="AnnotatorInput"/>); each value becomes a grey level as the
/// annotator's <c>level</c> says; the padding is cropped off. A scribble (<see cref="HedScribble"/>) is drawn before or
/// after that crop as <see cref="HedScribbleMode"/> says.
/// </summary>
public static class SoftEdgeMap
{
    /// <summary>The edge map (grey in all three channels).</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="network">Runs the network on planar [3, height, width] values; returns height × width values.</param>
    /// <param name="level">One network value as a grey level.</param>
    /// <param name="scribble">Whether and where to turn the map into a fake scribble.</param>
    /// <param name="cancellationToken">Stops the scribble's blurs.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, Func<float[], int, int, float[]> network, Func<float, byte> level,
        HedScribbleMode scribble = HedScribbleMode.None, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(level);
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var planes = padded.ChannelPlanes();
        var plane = padded.Height * padded.Width;
        var pixels = new float[3 * plane];
        for (var c = 0; c < 3; c++) planes[c].CopyTo(pixels, c * plane);
        var values = network(pixels, padded.Height, padded.Width);
        var map = new byte[plane];
        for (var i = 0; i < plane; i++) map[i] = level(values[i]);
        if (scribble == HedScribbleMode.BeforeCrop) map = HedScribble.Apply(map, padded.Height, padded.Width, cancellationToken);
        var cropped = Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width);
        if (scribble != HedScribbleMode.AfterCrop) return cropped;
        var levels = new byte[height * width];
        for (var i = 0; i < levels.Length; i++) levels[i] = cropped.Pixels[3 * i];
        return Rgb8Image.Grey(height, width, HedScribble.Apply(levels, height, width, cancellationToken));
    }
}
