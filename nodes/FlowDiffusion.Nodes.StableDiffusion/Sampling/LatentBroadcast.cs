using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>Latents given to a sampler beside its own, at its batch: a batch of one serves every image.</summary>
internal static class LatentBroadcast
{
    /// <summary>The values of <paramref name="latent"/> as <paramref name="shape"/>'s batch.</summary>
    /// <param name="latent">The latents given.</param>
    /// <param name="shape">The sampler's latents.</param>
    /// <param name="name">The input's name, for the error.</param>
    /// <exception cref="ArgumentException">Channels or size differ, or the batch is neither 1 nor the sampler's.</exception>
    public static float[] To(Latent latent, LatentShape shape, string name)
    {
        if (latent.Channels != shape.Channels || latent.Height != shape.Height || latent.Width != shape.Width || (latent.Batch != 1 && latent.Batch != shape.Batch))
            throw new ArgumentException($"{name} is [{latent.Batch}, {latent.Channels}, {latent.Height}, {latent.Width}] but the sampled latents are {shape}; they must match (a batch of one serves every image)");
        if (latent.Batch == shape.Batch) return latent.ToArray();
        var result = new float[shape.Length];
        for (var b = 0; b < shape.Batch; b++) latent.Values.CopyTo(result.AsSpan(b * shape.ItemLength));
        return result;
    }
}
