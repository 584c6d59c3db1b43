using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// What the analytic VAE keeps of an image: it encodes by 8×8 average pooling and decodes by nearest upsampling, so an
/// image through it comes back as the mean of each 8×8 block.
/// </summary>
internal static class Blocks
{
    public const int Size = 8;

    /// <summary>The image with every pixel replaced by the mean of its 8×8 block, planar [3, H, W] of image 0.</summary>
    public static float[] Averaged(Image image)
    {
        int h = image.Height, w = image.Width, plane = h * w;
        var pixels = image.PixelsOf(0);
        var result = new float[3 * plane];
        for (var c = 0; c < 3; c++)
        for (var by = 0; by < h / Size; by++)
        for (var bx = 0; bx < w / Size; bx++)
        {
            var sum = 0f;
            for (var y = by * Size; y < (by + 1) * Size; y++)
            for (var x = bx * Size; x < (bx + 1) * Size; x++)
                sum += pixels[c * plane + y * w + x];
            for (var y = by * Size; y < (by + 1) * Size; y++)
            for (var x = bx * Size; x < (bx + 1) * Size; x++)
                result[c * plane + y * w + x] = sum / (Size * Size);
        }
        return result;
    }

    /// <summary>The mask's value averaged over the 8×8 block of pixel (y, x): the mask the sampler sees at latent resolution.</summary>
    public static Func<int, int, float> LatentMask(Mask mask)
    {
        var values = mask.Values.ToArray();
        return (y, x) =>
        {
            int by = y / Size * Size, bx = x / Size * Size;
            var sum = 0f;
            for (var dy = 0; dy < Size; dy++)
            for (var dx = 0; dx < Size; dx++)
                sum += values[(by + dy) * mask.Width + bx + dx];
            return sum / (Size * Size);
        };
    }

    /// <summary>Whether every block within one block of pixel (y, x) has the latent mask value <paramref name="value"/>: away from the mask's edge.</summary>
    public static Func<int, int, bool> AwayFromEdge(Mask mask, float value)
    {
        var latent = LatentMask(mask);
        return (y, x) =>
        {
            for (var dy = -Size; dy <= Size; dy += Size)
            for (var dx = -Size; dx <= Size; dx += Size)
            {
                int yy = Math.Clamp(y + dy, 0, mask.Height - 1), xx = Math.Clamp(x + dx, 0, mask.Width - 1);
                if (latent(yy, xx) != value) return false;
            }
            return true;
        };
    }

    /// <summary>The largest per-channel difference between image 0 and planar pixels, over the selected pixels.</summary>
    public static double MaxDifference(Image image, float[] expected, Func<int, int, bool> where)
    {
        int plane = image.Height * image.Width;
        var pixels = image.PixelsOf(0);
        var worst = 0.0;
        var count = 0;
        for (var y = 0; y < image.Height; y++)
        for (var x = 0; x < image.Width; x++)
        {
            if (!where(y, x)) continue;
            count++;
            for (var c = 0; c < 3; c++)
                worst = Math.Max(worst, Math.Abs(pixels[c * plane + y * image.Width + x] - expected[c * plane + y * image.Width + x]));
        }
        Assert.True(count > 0, "no pixel selected");
        return worst;
    }
}
