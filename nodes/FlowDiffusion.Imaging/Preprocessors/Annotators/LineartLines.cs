namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The ControlNet annotators' realistic and coarse lineart (comfyui_controlnet_aux's LineartDetector, sd-webui-controlnet's
/// lineart_realistic and lineart_coarse): the network (given as <c>network</c>: planar RGB 0..255 → the line map 0..1 at
/// the same size) runs on the resized and padded image (<see cref="AnnotatorInput"/>); each pixel is 255 − the map × 255
/// (float32) clipped and truncated to a byte, so black lines on white; the padding is cropped off.
/// </summary>
public static class LineartLines
{
    /// <summary>The line image (grey in all three channels).</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="network">Runs the network on planar [3, height, width] values; returns height × width values.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, Func<float[], int, int, float[]> network)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var line = network(Planar(padded), padded.Height, padded.Width);
        var map = new byte[line.Length];
        for (var i = 0; i < map.Length; i++) map[i] = (byte)(255 - Level(line[i] * 255f));
        return Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width);
    }

    /// <summary>numpy's <c>value.clip(0, 255).astype(np.uint8)</c>: clipped, then truncated.</summary>
    public static byte Level(float value) => (byte)Math.Clamp(float.IsNaN(value) ? 0f : value, 0f, 255f);

    /// <summary>The image as planar [3, height, width] float32 values 0..255.</summary>
    public static float[] Planar(Rgb8Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var plane = image.Height * image.Width;
        var pixels = new float[3 * plane];
        var planes = image.ChannelPlanes();
        for (var c = 0; c < 3; c++) planes[c].CopyTo(pixels, c * plane);
        return pixels;
    }
}
