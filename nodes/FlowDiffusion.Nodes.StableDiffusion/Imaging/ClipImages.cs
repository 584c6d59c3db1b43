using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// CLIP's image preprocessing as ComfyUI's <c>clip_preprocess</c> does it: the shortest side to the encoder's size by
/// antialiased bicubic (or both sides, without crop), the centre crop, rounding to 8 bits (transformers' processor works
/// on 8-bit images too), then CLIP's mean and standard deviation per channel.
/// </summary>
internal static class ClipImages
{
    private static readonly float[] Mean = [0.48145466f, 0.4578275f, 0.40821073f];
    private static readonly float[] Std = [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>The encoder's input [batch, 3, size, size] for <paramref name="image"/>.</summary>
    public static float[] Preprocess(Image image, int size, bool crop)
    {
        int height = image.Height, width = image.Width;
        var scale = (double)size / Math.Min(height, width);
        var (newHeight, newWidth) = crop ? ((int)Math.Round(scale * height), (int)Math.Round(scale * width)) : (size, size);
        int top = (newHeight - size) / 2, left = (newWidth - size) / 2;
        var result = new float[image.Batch * 3 * size * size];
        for (var b = 0; b < image.Batch; b++)
        {
            var resized = PlanarResize.Resize(image.PixelsOf(b), 3, height, width, newHeight, newWidth, PlanarResize.AntialiasedBicubic, centerCrop: false);
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < size; y++)
                {
                    for (var x = 0; x < size; x++)
                    {
                        var value = resized[(((c * newHeight) + top + y) * newWidth) + left + x];
                        var quantised = MathF.Round(Math.Clamp(255f * value, 0f, 255f)) / 255f;
                        result[(((((b * 3) + c) * size) + y) * size) + x] = (quantised - Mean[c]) / Std[c];
                    }
                }
            }
        }

        return result;
    }
}
