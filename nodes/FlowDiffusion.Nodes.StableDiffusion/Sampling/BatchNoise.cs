using FlowDiffusion.Diffusion.Noise;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// A sampler's starting noise as ComfyUI's prepare_noise draws it: without noise indices, torch.randn of the whole batch
/// from one generator seeded with the seed; with them (latents cut from a batch), one item at a time for items
/// 0 … the largest index, each batch item taking the item its index names, so a latent cut from a batch is sampled with
/// the noise it had in the whole batch.
/// </summary>
internal static class BatchNoise
{
    /// <summary>The noise for <paramref name="shape"/>.</summary>
    /// <param name="seed">The seed.</param>
    /// <param name="shape">The sampled latents.</param>
    /// <param name="indices">Each batch item's noise item (<c>Latent.NoiseIndices</c>), or null.</param>
    public static float[] Draw(ulong seed, LatentShape shape, IReadOnlyList<int>? indices)
    {
        var noise = new float[shape.Length];
        var generator = new TorchGenerator(seed);
        if (indices is null)
        {
            generator.FillStandardNormal(noise);
            return noise;
        }

        // torch draws a tensor of 16 or more values in blocks and redraws a partial last block, so item-by-item draws
        // differ from one whole-batch draw unless the item length is a multiple of 16: draw exactly as ComfyUI does.
        var item = new float[shape.ItemLength];
        var last = indices.Max();
        for (var drawn = 0; drawn <= last; drawn++)
        {
            generator.FillStandardNormal(item);
            for (var b = 0; b < indices.Count; b++)
            {
                if (indices[b] == drawn) item.CopyTo(noise.AsSpan(b * shape.ItemLength));
            }
        }

        return noise;
    }
}
