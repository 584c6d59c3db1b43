namespace FlowDiffusion.Imaging.Masks;

/// <summary>
/// The pixels of one exact colour, as ComfyUI's ImageColorToMask finds them: each channel clamped to 0 … 1, times 255 and
/// rounded half to even in float32 (torch's round), and the pixel's (r &lt;&lt; 16) + (g &lt;&lt; 8) + b compared with the colour.
/// </summary>
public static class ColorMask
{
    /// <summary>The largest colour, 0xFFFFFF (white).</summary>
    public const int MaxColor = 0xFFFFFF;

    /// <summary>1 where a pixel of the planar [items, 3, plane] <paramref name="rgb"/> has <paramref name="color"/>, else 0; one plane per item.</summary>
    /// <param name="rgb">Items of red, green and blue planes of <paramref name="plane"/> values.</param>
    /// <param name="plane">Values in a plane.</param>
    /// <param name="color">The colour as 0xRRGGBB.</param>
    /// <exception cref="ArgumentException">The colour is outside 0 … 0xFFFFFF, or the lengths do not match.</exception>
    public static float[] Find(ReadOnlySpan<float> rgb, int plane, int color)
    {
        if (color is < 0 or > MaxColor) throw new ArgumentException($"color must be 0 … {MaxColor} (0xRRGGBB); got {color}", nameof(color));
        if (plane <= 0 || rgb.Length % (3 * plane) != 0) throw new ArgumentException($"expected items of 3 planes of {plane} values, got {rgb.Length}", nameof(rgb));
        var items = rgb.Length / (3 * plane);
        var mask = new float[items * plane];
        for (var b = 0; b < items; b++)
        {
            var item = rgb.Slice(b * 3 * plane, 3 * plane);
            for (var i = 0; i < plane; i++)
                mask[b * plane + i] = (Byte(item[i]) << 16) + (Byte(item[plane + i]) << 8) + Byte(item[2 * plane + i]) == color ? 1f : 0f;
        }

        return mask;
    }

    private static int Byte(float value) => (int)MathF.Round(Math.Clamp(value, 0f, 1f) * 255f, MidpointRounding.ToEven);
}
