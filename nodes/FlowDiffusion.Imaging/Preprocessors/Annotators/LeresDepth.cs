namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// LeReS's depth map around its network (given as <c>network</c>: planar BGR values, sides multiples of 64 → the depth plane
/// at the same size), as comfyui_controlnet_aux's LeresDetector (boost off) and sd-webui-controlnet's depth_leres compute it:
/// the image through <see cref="AnnotatorInput.ResizeWithPad"/>, its channels reversed to BGR, each byte (0..255, not
/// scaled: torchvision's ToTensor leaves float arrays as they are) less the ImageNet mean over its std by channel index,
/// the network, then over the padded map 65535 · (d − min) / (max − min) in float32 truncated to 16 bits (all 0 when the
/// map is flat), OpenCV's convertScaleAbs to bytes (· 255/65535 in float32, rounded half to even), remove near (levels not
/// above ⌊near% · 255⌋ become 0: THRESH_TOZERO), inverted (255 − v), remove background the same way on the inverted map,
/// cropped to the scaled size, grey.
/// </summary>
public static class LeresDepth
{
    /// <summary>
    /// The most pixels the padded image may have (2048², the extension's largest resolution on a square image): the
    /// decoder holds 256-channel float32 maps at half the input's size (about 1 GB each at the limit).
    /// </summary>
    public const long MaxPixels = 2048L * 2048;

    // np.finfo("float").eps, which the detectors compare the float32 range with.
    private const double Float64Epsilon = 2.220446049250313e-16;

    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    /// <summary>The padded size the network sees for an image of <paramref name="height"/> × <paramref name="width"/> at <paramref name="resolution"/>.</summary>
    public static (int Height, int Width) NetworkSize(int height, int width, int resolution)
    {
        var (scaledHeight, scaledWidth) = AnnotatorInput.ScaledSize(height, width, resolution);
        return ((scaledHeight + 63) / 64 * 64, (scaledWidth + 63) / 64 * 64);
    }

    /// <summary>The network's planar input for the padded image: channel c is byte (2 − c) (BGR) less mean[c] over std[c], in float32.</summary>
    public static float[] Input(Rgb8Image padded)
    {
        ArgumentNullException.ThrowIfNull(padded);
        var plane = padded.Height * padded.Width;
        var pixels = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            pixels[c * plane + i] = (padded.Pixels[3 * i + 2 - c] - Mean[c]) / Std[c];
        return pixels;
    }

    /// <summary>The depth map of <paramref name="image"/> at the scaled size.</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="removeNear">aux's rm_nearest, the extension's Remove Near % (0..100).</param>
    /// <param name="removeBackground">aux's rm_background, the extension's Remove Background % (0..100).</param>
    /// <param name="network">Runs the network on planar [3, height, width] values; returns height × width values.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, double removeNear, double removeBackground, Func<float[], int, int, float[]> network)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var levels = Levels(network(Input(padded), padded.Height, padded.Width), removeNear, removeBackground);
        return Rgb8Image.Grey(padded.Height, padded.Width, levels).Crop(height, width);
    }

    /// <summary>The raw depth plane as the annotator's levels (see the class summary).</summary>
    public static byte[] Levels(float[] depth, double removeNear, double removeBackground)
    {
        ArgumentNullException.ThrowIfNull(depth);
        float min = depth.Min(), max = depth.Max(), range = max - min;
        var flat = !(range > Float64Epsilon);
        int near = Threshold(removeNear), background = Threshold(removeBackground);
        var levels = new byte[depth.Length];
        for (var i = 0; i < depth.Length; i++)
        {
            // numpy: max_val * (d − min) first, then / (max − min), all float32; astype(uint16) truncates.
            var sixteen = flat ? 0 : (ushort)(65535f * (depth[i] - min) / range);
            var v = (int)MathF.Round(sixteen * (float)(255.0 / 65535.0), MidpointRounding.ToEven);
            if (v <= near) v = 0;
            v = 255 - v;
            if (v <= background) v = 0;
            levels[i] = (byte)v;
        }

        return levels;
    }

    // cv2.threshold on 8-bit floors the threshold (thr / 100 · 255 as Python computes it); a value passes when above it.
    // A slider at 0 is skipped by the detectors, which the floor of 0 matches (no level is below 0).
    private static int Threshold(double percent) => (int)Math.Floor(percent / 100 * 255);
}
