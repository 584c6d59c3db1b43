using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Regions;

/// <summary>
/// One conditioning of a guided step at latent resolution, as ComfyUI's <c>resolve_areas_and_cond_masks</c> and
/// <c>get_area_and_mult</c> make it: the rectangle the model runs on (unclipped, as ComfyUI compares areas) and the weight
/// of each of its latent pixels — the mask × mask strength × strength, or for a rectangle without mask the strength with an
/// 8-pixel linear ramp (at most a quarter of the side) along each edge inside the image.
/// </summary>
/// <param name="Conditioning">The conditioning, without its region.</param>
/// <param name="List">0 for the negative list, 1 for the positive.</param>
/// <param name="Region">The region (<see cref="ConditioningRegion.None"/> when unrestricted).</param>
/// <param name="Area">(y, x, h, w) in latent pixels, unclipped, or null for the whole latent.</param>
/// <param name="Mask">The mask at latent resolution, [batch 1 or n, h·w of the latent], or null.</param>
internal sealed record ResolvedRegion(Conditioning Conditioning, int List, ConditioningRegion Region, (int Y, int X, int H, int W)? Area, float[]? Mask, int MaskBatch)
{
    private const int Fuzz = 8;

    /// <summary>Resolves <paramref name="conditioning"/>'s region for a latent of <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static ResolvedRegion Of(Conditioning conditioning, int list, int height, int width)
    {
        var region = ConditioningRegion.Of(conditioning) ?? ConditioningRegion.None;
        var plain = ConditioningRegion.Strip(conditioning);
        var area = region.Area?.InLatent(height, width);
        float[]? mask = null;
        var maskBatch = 0;
        if (region.Mask is { } source)
        {
            maskBatch = source.Batch;
            mask = new float[source.Batch * height * width];
            var plane = source.Height * source.Width;
            for (var b = 0; b < source.Batch; b++)
            {
                var item = source.Values.Slice(b * plane, plane);
                if (source.Height == height && source.Width == width) item.CopyTo(mask.AsSpan(b * height * width));
                else PlanarResize.Resize(item, 1, source.Height, source.Width, height, width, "bilinear", centerCrop: false).CopyTo(mask.AsSpan(b * height * width));
            }

            if (region.MaskBounds) area = Bounds(mask, maskBatch, height, width);
        }

        return new ResolvedRegion(plain, list, region, area, mask, maskBatch);
    }

    /// <summary>The same region with another conditioning (ComfyUI's opposite cond of equal area).</summary>
    public ResolvedRegion For(Conditioning conditioning, int list) => this with { Conditioning = conditioning, List = list };

    /// <summary>The rectangle clipped to the latent: (y, x, h, w).</summary>
    public (int Y, int X, int H, int W) Clipped(int height, int width)
    {
        if (Area is not { } a) return (0, 0, height, width);
        var h = Math.Min(height - a.Y, a.H);
        var w = Math.Min(width - a.X, a.W);
        if (h < 1 || w < 1 || a.Y < 0 || a.X < 0)
            throw new ArgumentException($"the conditioning's area (x {a.X * 8}, y {a.Y * 8}, {a.W * 8}×{a.H * 8} pixels) lies outside the {width * 8}×{height * 8} image");
        return (a.Y, a.X, h, w);
    }

    /// <summary>The weight of each latent pixel of the clipped rectangle for batch row <paramref name="row"/>, [h·w].</summary>
    public float[] Weights(int row, int batch, int height, int width)
    {
        var (y0, x0, h, w) = Clipped(height, width);
        var weights = new float[h * w];
        if (Mask is not null)
        {
            if (MaskBatch != 1 && MaskBatch != batch)
                throw new ArgumentException($"the region's mask has batch {MaskBatch}; give one mask or one per latent ({batch})");
            var item = Mask.AsSpan((MaskBatch == 1 ? 0 : row) * height * width, height * width);
            for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                weights[y * w + x] = item[(y0 + y) * width + x0 + x] * Region.MaskStrength * Region.Strength;
            return weights;
        }

        Array.Fill(weights, Region.Strength);
        if (Area is null) return weights;
        var ry = Math.Min(Fuzz, h / 4);
        var rx = Math.Min(Fuzz, w / 4);
        for (var t = 0; t < ry; t++)
        {
            var f = (float)(1.0 / ry * (t + 1));
            if (y0 != 0) ScaleRow(weights, w, t, f);
            if (y0 + h < height) ScaleRow(weights, w, h - 1 - t, f);
        }

        for (var t = 0; t < rx; t++)
        {
            var f = (float)(1.0 / rx * (t + 1));
            if (x0 != 0) ScaleColumn(weights, w, h, t, f);
            if (x0 + w < width) ScaleColumn(weights, w, h, w - 1 - t, f);
        }

        return weights;
    }

    // ComfyUI's "mask bounds": the bounding box of the non-zero pixels of every mask item, at least 8 × 8; an empty mask
    // gives the 8 × 8 corner (its weights are all zero anyway).
    private static (int, int, int, int) Bounds(float[] mask, int batch, int height, int width)
    {
        int top = int.MaxValue, left = int.MaxValue, bottom = -1, right = -1;
        for (var b = 0; b < batch; b++)
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            if (mask[(b * height + y) * width + x] == 0) continue;
            top = Math.Min(top, y);
            bottom = Math.Max(bottom, y);
            left = Math.Min(left, x);
            right = Math.Max(right, x);
        }

        return bottom < 0 ? (0, 0, 8, 8) : (top, left, Math.Max(8, bottom - top + 1), Math.Max(8, right - left + 1));
    }

    private static void ScaleRow(float[] weights, int w, int y, float factor)
    {
        for (var x = 0; x < w; x++) weights[y * w + x] *= factor;
    }

    private static void ScaleColumn(float[] weights, int w, int h, int x, float factor)
    {
        for (var y = 0; y < h; y++) weights[y * w + x] *= factor;
    }
}
