namespace FlowDiffusion.Imaging.Filters;

/// <summary>
/// RGB ↔ YCbCr with kornia's coefficients (kornia.color.rgb_to_ycbcr and ycbcr_to_rgb, which ComfyUI's ImageRGBToYUV
/// and ImageYUVToRGB call): Y = 0.299 R + 0.587 G + 0.114 B, Cb = (B − Y) · 0.564 + 0.5, Cr = (R − Y) · 0.713 + 0.5, and
/// back R = Y + 1.403 (Cr − 0.5), G = Y − 0.714 (Cr − 0.5) − 0.344 (Cb − 0.5), B = Y + 1.773 (Cb − 0.5), clamped to 0 … 1.
/// Each output is a bias plus the three weighted inputs, in float32.
/// </summary>
public static class KorniaYCbCr
{
    // Rows: Y, Cb, Cr; the products of 0.564 and 0.713 with 1 − Y's weights, as kornia folds them.
    private static readonly float[,] Forward =
    {
        { 0.299f, 0.587f, 0.114f },
        { -0.168636f, -0.331068f, 0.499704f },
        { 0.499813f, -0.418531f, -0.081282f },
    };

    private static readonly float[] ForwardBias = [0f, 0.5f, 0.5f];

    // Columns: Y, Cb, Cr; the − 0.5 folded into the bias.
    private static readonly float[,] Backward =
    {
        { 1f, 0f, 1.403f },
        { 1f, -0.344f, -0.714f },
        { 1f, 1.773f, 0f },
    };

    private static readonly float[] BackwardBias = [-0.7015f, 0.529f, -0.8865f];

    /// <summary>Y, Cb and Cr planes of each planar [3, H, W] RGB item.</summary>
    /// <param name="rgb">Items of three planes (red, green, blue) of <paramref name="plane"/> values.</param>
    /// <param name="plane">Values in a plane.</param>
    public static float[] FromRgb(ReadOnlySpan<float> rgb, int plane) => Apply(rgb, plane, Forward, ForwardBias, clamp: false);

    /// <summary>RGB planes of each planar [3, H, W] YCbCr item, clamped to 0 … 1.</summary>
    /// <param name="ycbcr">Items of three planes (Y, Cb, Cr) of <paramref name="plane"/> values.</param>
    /// <param name="plane">Values in a plane.</param>
    public static float[] ToRgb(ReadOnlySpan<float> ycbcr, int plane) => Apply(ycbcr, plane, Backward, BackwardBias, clamp: true);

    private static float[] Apply(ReadOnlySpan<float> input, int plane, float[,] matrix, float[] bias, bool clamp)
    {
        if (plane <= 0 || input.Length % (3 * plane) != 0)
            throw new ArgumentException($"expected items of 3 planes of {plane} values, got {input.Length}", nameof(input));
        var output = new float[input.Length];
        for (var start = 0; start < input.Length; start += 3 * plane)
        {
            var item = input.Slice(start, 3 * plane);
            for (var c = 0; c < 3; c++)
            {
                var target = output.AsSpan(start + c * plane, plane);
                float w0 = matrix[c, 0], w1 = matrix[c, 1], w2 = matrix[c, 2], b = bias[c];
                for (var i = 0; i < plane; i++)
                {
                    var v = b + w0 * item[i] + w1 * item[plane + i] + w2 * item[2 * plane + i];
                    target[i] = clamp ? Math.Clamp(v, 0f, 1f) : v;
                }
            }
        }

        return output;
    }
}
