namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// NormalBAE's normal map around its network (given as <c>network</c>: the ImageNet-normalised planar RGB image, sides
/// multiples of 64 → the unit normal's three planes at the same size), as comfyui_controlnet_aux's NormalBaeDetector and
/// sd-webui-controlnet's normal_bae compute it: the image through <see cref="AnnotatorInput.ResizeWithPad"/>, each byte
/// / 255 less the ImageNet mean over its standard deviation (float32), the network, each component n as
/// ((n + 1) · 0.5) clipped to 0..1, × 255 truncated to a byte, RGB = (x, y, z), cropped to the scaled size.
/// </summary>
public static class NormalBaeMap
{
    /// <summary>
    /// The most pixels the padded image may have (1536²). The refinement runs its 128-wide MLP on every pixel of the padded
    /// image, so ONNX Runtime holds two or three float32 maps of 128 channels at that size (about 1.2 GB each at the limit).
    /// </summary>
    public const long MaxPixels = 1536L * 1536;

    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    /// <summary>The padded size the network sees for an image of <paramref name="height"/> × <paramref name="width"/> at <paramref name="resolution"/>.</summary>
    public static (int Height, int Width) NetworkSize(int height, int width, int resolution)
    {
        var (scaledHeight, scaledWidth) = AnnotatorInput.ScaledSize(height, width, resolution);
        return ((scaledHeight + 63) / 64 * 64, (scaledWidth + 63) / 64 * 64);
    }

    /// <summary>The network's planar input for the padded image: (byte / 255 − mean) / std per channel, in float32.</summary>
    public static float[] Input(Rgb8Image padded)
    {
        ArgumentNullException.ThrowIfNull(padded);
        var plane = padded.Height * padded.Width;
        var pixels = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            pixels[c * plane + i] = (padded.Pixels[3 * i + c] / 255f - Mean[c]) / Std[c];
        return pixels;
    }

    /// <summary>The normal map of <paramref name="image"/> at the scaled size.</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="network">Runs the network on planar [3, height, width] values; returns the normal's 3 × height × width values.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, Func<float[], int, int, float[]> network)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var plane = padded.Height * padded.Width;
        var normal = network(Input(padded), padded.Height, padded.Width);
        var pixels = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            pixels[3 * i + c] = Level(normal[c * plane + i]);
        return new Rgb8Image(padded.Height, padded.Width, pixels).Crop(height, width);
    }

    /// <summary>One component as a byte: ((n + 1) · 0.5) clipped to 0..1, × 255, truncated; NaN (which a unit normal never is) is 0.</summary>
    public static byte Level(float n)
    {
        var v = Math.Clamp((n + 1f) * 0.5f, 0f, 1f) * 255f;
        return float.IsNaN(v) ? (byte)0 : (byte)v;
    }
}
