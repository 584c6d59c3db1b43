namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The ControlNet annotators' HED soft edges (comfyui_controlnet_aux's HEDdetector, sd-webui-controlnet's softedge_hed):
/// the network (given as <c>network</c>: planar RGB 0..255 → the mean of its side outputs at the same size) runs on the
/// resized and padded image (<see cref="AnnotatorInput"/>); each pixel is the sigmoid of that mean (in double), in safe
/// mode stepped to ⌊3x⌋ / 2 (float32, as <c>safe_step</c>), × 255 clamped and truncated to a byte; the padding is cropped off.
/// A scribble (<see cref="HedScribble"/>) is drawn before or after that crop as <see cref="HedScribbleMode"/> says.
/// </summary>
public static class HedEdges
{
    /// <summary>The edge map (grey in all three channels).</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="safe">Whether to quantise to three levels (0, 127, 255), as the hedsafe modules do.</param>
    /// <param name="network">Runs the network on planar [3, height, width] values; returns height × width values.</param>
    /// <param name="scribble">Whether and where to turn the map into a fake scribble.</param>
    /// <param name="cancellationToken">Stops the scribble's blurs.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, bool safe, Func<float[], int, int, float[]> network,
        HedScribbleMode scribble = HedScribbleMode.None, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var planes = padded.ChannelPlanes();
        var plane = padded.Height * padded.Width;
        var pixels = new float[3 * plane];
        for (var c = 0; c < 3; c++) planes[c].CopyTo(pixels, c * plane);
        var logits = network(pixels, padded.Height, padded.Width);
        var map = new byte[plane];
        for (var i = 0; i < plane; i++) map[i] = Level(logits[i], safe);
        if (scribble == HedScribbleMode.BeforeCrop) map = HedScribble.Apply(map, padded.Height, padded.Width, cancellationToken);
        var cropped = Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width);
        if (scribble != HedScribbleMode.AfterCrop) return cropped;
        var levels = new byte[height * width];
        for (var i = 0; i < levels.Length; i++) levels[i] = cropped.Pixels[3 * i];
        return Rgb8Image.Grey(height, width, HedScribble.Apply(levels, height, width, cancellationToken));
    }

    /// <summary>One pixel: the sigmoid of the logit, stepped when safe, as a byte (truncated).</summary>
    public static byte Level(float logit, bool safe)
    {
        var edge = 1 / (1 + Math.Exp(-(double)logit));
        if (safe) edge = (int)((float)edge * 3f) / 2f;
        return (byte)Math.Clamp(edge * 255.0, 0, 255);
    }
}
