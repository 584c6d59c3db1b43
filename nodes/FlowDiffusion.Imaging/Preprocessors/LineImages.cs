namespace FlowDiffusion.Imaging.Preprocessors;

/// <summary>
/// Control images made without a model: a luminance threshold (scribble: lines drawn on paper become white strokes on
/// black) and inversion (black-on-white lineart becomes the white-on-black lines lineart ControlNets take).
/// </summary>
public static class LineImages
{
    /// <summary>1 where the luminance 0.299 R + 0.587 G + 0.114 B is at least <paramref name="threshold"/>, else 0; swapped when <paramref name="invert"/>. [height·width].</summary>
    public static float[] Threshold(ReadOnlySpan<float> rgb, int height, int width, double threshold, bool invert)
    {
        var plane = height * width;
        if (rgb.Length != 3L * plane) throw new ArgumentException($"expected 3 × {height} × {width} values, got {rgb.Length}", nameof(rgb));
        var result = new float[plane];
        for (var i = 0; i < plane; i++)
        {
            var luminance = 0.299 * rgb[i] + 0.587 * rgb[plane + i] + 0.114 * rgb[2 * plane + i];
            result[i] = (luminance >= threshold) != invert ? 1f : 0f;
        }

        return result;
    }

    /// <summary>1 − v for every value, clamped to 0..1.</summary>
    public static float[] Invert(ReadOnlySpan<float> values)
    {
        var result = new float[values.Length];
        for (var i = 0; i < values.Length; i++) result[i] = 1f - Math.Clamp(values[i], 0f, 1f);
        return result;
    }
}
