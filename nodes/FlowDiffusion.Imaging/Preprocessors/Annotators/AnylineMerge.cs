namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's AnyLineArtPreprocessor_aux after its two annotators: the lineart map's first channel kept where
/// it lies within [lower, upper] (float32 comparisons, 0 elsewhere), then scikit-image's <c>remove_small_objects</c> on
/// that mask repeated over three channels, and the kept lines screened over the edge map.
/// </summary>
/// <remarks>
/// <c>remove_small_objects(mask, min_size, connectivity)</c> labels the non-zero elements of the height × width × 3 array
/// with SciPy's structuring element of that connectivity (offsets whose absolute values sum to at most it) and zeroes the
/// components of fewer than <c>min_size</c> elements. The three channels are equal, so a component is a plane component
/// (4-connected for connectivity 1, 8-connected for 2 and more) counted three times: a plane component of n pixels goes
/// when 3n &lt; min_size. Where a kept line t is not 0 the pixel is <c>1 − (1 − t)(1 − e)</c> in float32; elsewhere it is
/// the edge value e unchanged.
/// </remarks>
public static class AnylineMerge
{
    /// <summary>The merged map, planar [3, height, width].</summary>
    /// <param name="edges">The edge map (MTEED's), planar [3, height, width] in 0..1.</param>
    /// <param name="lines">The lineart map, planar [3, height, width] in 0..1; only its first channel is read.</param>
    /// <param name="height">The maps' height.</param>
    /// <param name="width">The maps' width.</param>
    /// <param name="lower">aux's lineart_lower_bound.</param>
    /// <param name="upper">aux's lineart_upper_bound.</param>
    /// <param name="minSize">aux's object_min_size (elements over the three channels), at least 1.</param>
    /// <param name="connectivity">aux's object_connectivity, at least 1.</param>
    public static float[] Apply(ReadOnlySpan<float> edges, ReadOnlySpan<float> lines, int height, int width, double lower, double upper, int minSize, int connectivity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(connectivity, 1);
        var plane = height * width;
        if (edges.Length != 3 * plane || lines.Length != 3 * plane)
            throw new ArgumentException("The edge and line maps must both be planar [3, height, width].");

        float low = (float)lower, high = (float)upper;
        var top = new float[plane];
        for (var i = 0; i < plane; i++) top[i] = lines[i] >= low && lines[i] <= high ? lines[i] : 0f;
        RemoveSmallObjects(top, height, width, minSize, connectivity >= 2);

        var result = edges.ToArray();
        for (var c = 0; c < 3; c++)
        {
            var offset = c * plane;
            for (var i = 0; i < plane; i++)
            {
                if (top[i] == 0f) continue;
                result[offset + i] = 1f - (1f - top[i]) * (1f - edges[offset + i]);
            }
        }

        return result;
    }

    // Zeroes every component (4- or 8-connected) of non-zero pixels whose size over three channels is below minSize.
    private static void RemoveSmallObjects(float[] mask, int height, int width, int minSize, bool diagonal)
    {
        var seen = new bool[mask.Length];
        var component = new List<int>();
        var stack = new Stack<int>();
        for (var start = 0; start < mask.Length; start++)
        {
            if (seen[start] || mask[start] == 0f) continue;
            component.Clear();
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                var index = stack.Pop();
                component.Add(index);
                int y = index / width, x = index % width;
                for (var dy = -1; dy <= 1; dy++)
                {
                    for (var dx = -1; dx <= 1; dx++)
                    {
                        if ((dx == 0 && dy == 0) || (!diagonal && dx != 0 && dy != 0)) continue;
                        int ny = y + dy, nx = x + dx;
                        if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
                        var next = ny * width + nx;
                        if (seen[next] || mask[next] == 0f) continue;
                        seen[next] = true;
                        stack.Push(next);
                    }
                }
            }

            if (3L * component.Count < minSize)
                foreach (var index in component) mask[index] = 0f;
        }
    }
}
