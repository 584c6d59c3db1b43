namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// ComfyUI's composite (ImageCompositeMasked, LatentCompositeMasked) on planar batches [batch, channels, h, w]: the
/// source, optionally resized to the destination first, pasted with its top-left corner at (left, top), weighted by a
/// mask at the source's size (bilinear when it is not), and cut to what lies inside the destination. The source and mask
/// batches repeat to the destination's. LatentComposite's feather fades the pasted edges that lie inside the destination.
/// </summary>
internal static class PlanarComposite
{
    public static float[] Paste(ReadOnlySpan<float> destination, int batch, int channels, int height, int width,
        ReadOnlySpan<float> source, int sourceBatch, int sourceHeight, int sourceWidth, int left, int top, bool resizeSource,
        ReadOnlySpan<float> mask, int maskBatch, int maskHeight, int maskWidth, int feather = 0)
    {
        if (left < 0 || top < 0) throw new ArgumentException($"x and y cannot be negative; got {left}, {top}");
        var pasted = source;
        if (resizeSource && (sourceHeight != height || sourceWidth != width))
        {
            pasted = PlanarResize.Resize(source, sourceBatch * channels, sourceHeight, sourceWidth, height, width, "bilinear", centerCrop: false);
            (sourceHeight, sourceWidth) = (height, width);
        }

        float[]? weights = null;
        if (!mask.IsEmpty)
        {
            weights = maskHeight == sourceHeight && maskWidth == sourceWidth
                ? mask.ToArray()
                : PlanarResize.Resize(mask, maskBatch, maskHeight, maskWidth, sourceHeight, sourceWidth, "bilinear", centerCrop: false);
        }

        var result = destination.ToArray();
        int visibleWidth = Math.Min(sourceWidth, width - left), visibleHeight = Math.Min(sourceHeight, height - top);
        if (visibleWidth <= 0 || visibleHeight <= 0) return result;
        if (feather > 0)
        {
            var fade = Feather(visibleHeight, visibleWidth, feather, top != 0, top + visibleHeight < height, left != 0, left + visibleWidth < width);
            weights ??= Enumerable.Repeat(1f, sourceHeight * sourceWidth).ToArray();
            for (var m = 0; m < weights.Length / (sourceHeight * sourceWidth); m++)
            for (var y = 0; y < visibleHeight; y++)
            for (var x = 0; x < visibleWidth; x++)
                weights[(m * sourceHeight + y) * sourceWidth + x] *= fade[y * visibleWidth + x];
        }

        var sourcePlane = sourceHeight * sourceWidth;
        for (var b = 0; b < batch; b++)
        {
            var s = b % sourceBatch;
            var m = weights is null ? 0 : b % maskBatch;
            for (var c = 0; c < channels; c++)
            for (var y = 0; y < visibleHeight; y++)
            for (var x = 0; x < visibleWidth; x++)
            {
                var weight = weights is null ? 1f : weights[m * sourcePlane + y * sourceWidth + x];
                var target = ((b * channels + c) * height + top + y) * width + left + x;
                result[target] = weight * pasted[(s * channels + c) * sourcePlane + y * sourceWidth + x] + (1 - weight) * result[target];
            }
        }

        return result;
    }

    /// <summary>
    /// LatentComposite's feather over the pasted h × w region: for t = 0 … feather − 1, the t-th row from the top (when the
    /// region does not start at the destination's top), from the bottom (when it ends above the destination's bottom), the
    /// t-th column from the left and from the right likewise, are multiplied by (t + 1) / feather, in that order, in
    /// float32 — with Python's slice rules, so a feather wider than the region wraps its bottom and right slices as ComfyUI's do.
    /// </summary>
    public static float[] Feather(int h, int w, int feather, bool top, bool bottom, bool left, bool right)
    {
        var mask = Enumerable.Repeat(1f, h * w).ToArray();
        for (var t = 0; t < feather; t++)
        {
            var factor = (float)(1.0 / feather * (t + 1));
            if (top) Rows(t, t + 1);
            if (bottom) Rows(h - 1 - t, h - t);
            if (left) Columns(t, t + 1);
            if (right) Columns(w - 1 - t, w - t);

            void Rows(int start, int end)
            {
                var (from, to) = PythonSlice.Range(start, end, h);
                for (var y = from; y < to; y++)
                for (var x = 0; x < w; x++)
                    mask[y * w + x] *= factor;
            }

            void Columns(int start, int end)
            {
                var (from, to) = PythonSlice.Range(start, end, w);
                for (var y = 0; y < h; y++)
                for (var x = from; x < to; x++)
                    mask[y * w + x] *= factor;
            }
        }

        return mask;
    }
}
