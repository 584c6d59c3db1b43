using FlowDiffusion.Imaging.Preprocessors.Annotators;

namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// The ControlNet annotators' classic OpenPose body estimator (comfyui_controlnet_aux's OpenposeDetector,
/// sd-webui-controlnet's openpose) around its network: the image (<see cref="AnnotatorInput"/>'s resized and padded one,
/// as the annotators pass it) scaled by 0.5 · 368 / height with INTER_CUBIC (the single scale of the annotator's
/// <c>scale_search = [0.5]</c>), padded on the bottom and right to multiples of 8 with the value 128, run through the
/// network; each of its PAF and heatmap channels enlarged 8× with INTER_CUBIC, the padding cropped off, resized to the
/// image's size with INTER_CUBIC and kept in float32 as OpenCV returns it; then <see cref="OpenPoseBodyParts"/>. The
/// resizes of the maps sum in double where OpenCV sums float32 in float32.
/// </summary>
public static class OpenPoseBody
{
    /// <summary>The annotator's box size; the image's height is scaled to half of it.</summary>
    public const int BoxSize = 368;

    /// <summary>The network's stride: its maps are 1/8 of its input.</summary>
    public const int Stride = 8;

    /// <summary>The padding value.</summary>
    public const byte PadValue = 128;

    /// <summary>The network: planar RGB [3, h, w] 0..255 in (h, w multiples of 8); the PAFs [38, h/8, w/8] and heatmaps [19, h/8, w/8] out.</summary>
    public delegate (float[] Pafs, float[] Heatmaps) Network(float[] pixels, int height, int width);

    /// <summary>The people found in <paramref name="image"/>, in its pixels.</summary>
    public static OpenPoseBodyResult Estimate(Rgb8Image image, Network network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        var input = NetworkInput(image);
        cancellationToken.ThrowIfCancellationRequested();
        var (pafs, heatmaps) = network(input.Pixels, input.Height, input.Width);
        int rows = input.Height / Stride, columns = input.Width / Stride;
        double[] Channel(float[] maps, int channel) => Restore(maps, channel, rows, columns, input.ScaledHeight, input.ScaledWidth, image.Height, image.Width);
        return OpenPoseBodyParts.Decode(image.Height, image.Width, p => Channel(heatmaps, p), c => Channel(pafs, c), cancellationToken);
    }

    /// <summary>The network's input for <paramref name="image"/>: planar RGB 0..255 of the scaled image padded with 128, its padded and its scaled size.</summary>
    public static (float[] Pixels, int Height, int Width, int ScaledHeight, int ScaledWidth) NetworkInput(Rgb8Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var scaled = OpenCvResize.CubicByFactor(image, 0.5 * BoxSize / image.Height);
        int paddedHeight = (scaled.Height + Stride - 1) / Stride * Stride, paddedWidth = (scaled.Width + Stride - 1) / Stride * Stride;
        var plane = paddedHeight * paddedWidth;
        var pixels = new float[3 * plane];
        Array.Fill(pixels, PadValue);
        for (var y = 0; y < scaled.Height; y++)
        for (var x = 0; x < scaled.Width; x++)
        for (var c = 0; c < 3; c++)
            pixels[c * plane + y * paddedWidth + x] = scaled.Pixels[3 * (y * scaled.Width + x) + c];
        return (pixels, paddedHeight, paddedWidth, scaled.Height, scaled.Width);
    }

    /// <summary>One channel of the network's maps at the image's size: ×8 cubic, cropped to the scaled image, cubic to the image, rounded to float32.</summary>
    public static double[] Restore(float[] maps, int channel, int rows, int columns, int scaledHeight, int scaledWidth, int height, int width)
    {
        var source = new double[rows * columns];
        for (var i = 0; i < source.Length; i++) source[i] = maps[channel * source.Length + i];
        var enlarged = OpenCvResize.CubicDouble(source, rows, columns, 1, rows * Stride, columns * Stride);
        var cropped = new double[scaledHeight * scaledWidth];
        for (var y = 0; y < scaledHeight; y++)
        for (var x = 0; x < scaledWidth; x++)
            cropped[y * scaledWidth + x] = (float)enlarged[y * columns * Stride + x];
        var restored = OpenCvResize.CubicDouble(cropped, scaledHeight, scaledWidth, 1, height, width);
        for (var i = 0; i < restored.Length; i++) restored[i] = (float)restored[i];
        return restored;
    }

    /// <summary>
    /// The pose image as the annotators draw it (<see cref="OpenPoseCanvas"/>: bodies, and hands and faces where asked) at the image's size, as bytes.
    /// The annotators pass each point through x / width · width, which lands a pixel lower about once in a hundred points; here the point's pixel is kept.
    /// </summary>
    public static Rgb8Image Draw(IReadOnlyList<OpenPoseKeypoints> people, int height, int width, int stickScale = 1, bool body = true, bool hands = false, bool faces = false)
    {
        var planar = OpenPoseCanvas.Draw(people, height, width, body, hands, faces, stickScale);
        var plane = height * width;
        var pixels = new byte[3 * plane];
        for (var c = 0; c < 3; c++)
        for (var i = 0; i < plane; i++)
            pixels[3 * i + c] = (byte)MathF.Round(planar[c * plane + i] * 255f);
        return new Rgb8Image(height, width, pixels);
    }
}
