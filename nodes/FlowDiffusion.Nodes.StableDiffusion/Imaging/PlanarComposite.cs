namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// ComfyUI's composite (ImageCompositeMasked, LatentCompositeMasked) on planar batches [batch, channels, h, w]: the
/// source, optionally resized to the destination first, pasted with its top-left corner at (left, top), weighted by a
/// mask at the source's size (bilinear when it is not), and cut to what lies inside the destination. The source and mask
/// batches repeat to the destination's.
/// </summary>
internal static class PlanarComposite
{
    public static float[] Paste(ReadOnlySpan<float> destination, int batch, int channels, int height, int width,
        ReadOnlySpan<float> source, int sourceBatch, int sourceHeight, int sourceWidth, int left, int top, bool resizeSource,
        ReadOnlySpan<float> mask, int maskBatch, int maskHeight, int maskWidth)
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
}
