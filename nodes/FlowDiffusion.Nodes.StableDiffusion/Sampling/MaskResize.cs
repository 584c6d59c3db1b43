using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// Brings a pixel mask to latent resolution (each latent pixel covers an 8×8 block), for the latent blend of 4-channel
/// UNets and the mask channel of 9-channel inpainting UNets alike: as diffusers' inpainting pipeline does by default,
/// binarised at 0.5 then nearest-neighbour (the top-left pixel of each block, as torch's <c>interpolate</c> picks), or by
/// area averaging (the mask's edge stays soft, as ComfyUI's resized noise masks are).
/// </summary>
internal static class MaskResize
{
    public static float[] Area(Mask mask, int batch, int height, int width) =>
        PerBlock(mask, batch, height, width, static (values, corner, stride) =>
        {
            var sum = 0f;
            for (var dy = 0; dy < 8; dy++)
            for (var dx = 0; dx < 8; dx++)
                sum += values[corner + dy * stride + dx];
            return sum / 64f;
        });

    public static float[] Nearest(Mask mask, int batch, int height, int width) =>
        PerBlock(mask, batch, height, width, static (values, corner, _) => values[corner] >= 0.5f ? 1f : 0f);

    // One value per 8×8 block of each mask image (the single mask serving every batch item), from the block's top-left index.
    private static float[] PerBlock(Mask mask, int batch, int height, int width, Block block)
    {
        Check(mask, batch, height, width);
        var result = new float[batch * height * width];
        var values = mask.Values;
        for (var b = 0; b < batch; b++)
        {
            var source = mask.Batch == 1 ? 0 : b;
            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                result[(b * height + y) * width + x] = block(values, (source * mask.Height + y * 8) * mask.Width + x * 8, mask.Width);
        }
        return result;
    }

    private static void Check(Mask mask, int batch, int height, int width)
    {
        if (mask.Width != width * 8 || mask.Height != height * 8)
            throw new ArgumentException($"{MaskSources.Describe(mask)} is {mask.Width}×{mask.Height} but the image is {width * 8}×{height * 8}; they must match: give mask.load the image's width and height");
        if (mask.Batch != 1 && mask.Batch != batch)
            throw new ArgumentException($"{MaskSources.Describe(mask)} has batch {mask.Batch} but the latents have batch {batch}");
    }

    private delegate float Block(ReadOnlySpan<float> values, int corner, int stride);
}
