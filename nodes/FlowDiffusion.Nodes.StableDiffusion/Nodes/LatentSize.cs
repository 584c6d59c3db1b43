namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The rule every latent-producing node shares: image sides are multiples of 8.</summary>
internal static class LatentSize
{
    public static void Check(int width, int height)
    {
        if (width % 8 != 0 || height % 8 != 0)
            throw new ArgumentException($"width and height must be multiples of 8 (the VAE downsamples 8×); got {width}×{height}");
    }
}
