using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>
/// The rules every latent-producing node shares: image sides are multiples of 8, and 0 means the model's native size
/// (as diffusers' pipelines default to the UNet's <c>sample_size</c> × 8).
/// </summary>
internal static class LatentSize
{
    /// <summary>The side used when a model does not declare its own: SD 1.x's 512.</summary>
    public const int FallbackSide = 512;

    /// <summary>The parameter text the nodes share.</summary>
    public const string SideDescription = "in pixels (multiple of 8); 0 uses the model's native size, read from the connected unet";

    public static void Check(int width, int height)
    {
        if (width % 8 != 0 || height % 8 != 0)
            throw new ArgumentException($"width and height must be multiples of 8 (the VAE downsamples 8×); got {width}×{height}");
    }

    /// <summary>Replaces a 0 side by the model's native size, then checks both sides.</summary>
    public static (int Width, int Height) Resolve(int width, int height, IUNetModel? unet)
    {
        if (width < 0 || height < 0)
            throw new ArgumentException($"width and height cannot be negative; got {width}×{height}");
        if (width == 0 || height == 0)
        {
            if (unet is null)
                throw new ArgumentException(
                    $"width or height is 0, which means the model's native size, but no unet is connected to tell it; connect model.load's unet output or give a size (got {width}×{height})");
            var native = unet.NativeImageSize ?? FallbackSide;
            if (width == 0) width = native;
            if (height == 0) height = native;
        }
        Check(width, height);
        return (width, height);
    }
}
