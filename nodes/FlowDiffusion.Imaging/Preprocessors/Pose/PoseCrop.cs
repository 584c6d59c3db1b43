namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// The top-down crop RTMPose runs on one person, as its ONNX demo makes it: the box's centre, its size × 1.25 widened or
/// heightened to the input's aspect ratio, mapped onto the input by a scale and shift (no rotation), sampled bilinearly
/// with black outside the image, then normalised by ImageNet's mean and deviation on the 0..255 scale.
/// </summary>
/// <param name="CenterX">The box centre's column in image pixels.</param>
/// <param name="CenterY">The box centre's row.</param>
/// <param name="ScaleWidth">The width of the image region the input covers.</param>
/// <param name="ScaleHeight">Its height (ScaleWidth / ScaleHeight = InputWidth / InputHeight).</param>
/// <param name="InputWidth">The pose model's input width.</param>
/// <param name="InputHeight">Its input height.</param>
public readonly record struct PoseCrop(float CenterX, float CenterY, float ScaleWidth, float ScaleHeight, int InputWidth, int InputHeight)
{
    /// <summary>How much larger than the detected box the crop is.</summary>
    public const float Padding = 1.25f;

    private static readonly float[] Mean = [123.675f, 116.28f, 103.53f];
    private static readonly float[] Deviation = [58.395f, 57.12f, 57.375f];

    /// <summary>The crop around a detected person.</summary>
    /// <param name="box">The person's box in image pixels.</param>
    /// <param name="inputWidth">The pose model's input width.</param>
    /// <param name="inputHeight">Its input height.</param>
    public static PoseCrop Around(PersonBox box, int inputWidth, int inputHeight)
    {
        float width = (box.X2 - box.X1) * Padding, height = (box.Y2 - box.Y1) * Padding;
        var aspect = (float)inputWidth / inputHeight;
        (width, height) = width > height * aspect ? (width, width / aspect) : (height * aspect, height);
        return new PoseCrop((box.X1 + box.X2) / 2, (box.Y1 + box.Y2) / 2, width, height, inputWidth, inputHeight);
    }

    /// <summary>The image pixel an input pixel coordinate comes from (and where a keypoint found there lies).</summary>
    /// <param name="inputX">Column in input pixels.</param>
    /// <param name="inputY">Row in input pixels.</param>
    public (float X, float Y) ToImage(float inputX, float inputY) =>
        (inputX / InputWidth * ScaleWidth + CenterX - ScaleWidth / 2, inputY / InputHeight * ScaleHeight + CenterY - ScaleHeight / 2);

    /// <summary>The pose model's input [3, InputHeight, InputWidth], normalised.</summary>
    /// <param name="rgb">Planar RGB [3, height, width] in 0..1.</param>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    public float[] Sample(ReadOnlySpan<float> rgb, int height, int width)
    {
        if (rgb.Length != 3L * height * width) throw new ArgumentException($"expected 3 × {height} × {width} values, got {rgb.Length}", nameof(rgb));
        var plane = InputHeight * InputWidth;
        var input = new float[3 * plane];
        for (var c = 0; c < 3; c++)
        {
            var source = rgb.Slice(c * height * width, height * width);
            for (var y = 0; y < InputHeight; y++)
            for (var x = 0; x < InputWidth; x++)
            {
                // OpenCV's warpAffine maps each output pixel's integer coordinate through the inverse transform.
                var (sx, sy) = ToImage(x, y);
                var value = Bilinear(source, height, width, sx, sy);
                input[c * plane + y * InputWidth + x] = (value - Mean[c]) / Deviation[c];
            }
        }
        return input;
    }

    private static float Bilinear(ReadOnlySpan<float> plane, int height, int width, float x, float y)
    {
        if (!float.IsFinite(x) || !float.IsFinite(y)) return 0f;
        int x0 = (int)MathF.Floor(x), y0 = (int)MathF.Floor(y);
        float fx = x - x0, fy = y - y0;
        var top = Tap(plane, height, width, y0, x0) * (1 - fx) + Tap(plane, height, width, y0, x0 + 1) * fx;
        var bottom = Tap(plane, height, width, y0 + 1, x0) * (1 - fx) + Tap(plane, height, width, y0 + 1, x0 + 1) * fx;
        return top * (1 - fy) + bottom * fy;
    }

    // The 8-bit value the annotator sees (ComfyUI truncates image × 255), black outside the image.
    private static float Tap(ReadOnlySpan<float> plane, int height, int width, int y, int x) =>
        y < 0 || y >= height || x < 0 || x >= width ? 0f : Math.Clamp(MathF.Floor(plane[y * width + x] * 255f), 0f, 255f);
}
