using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Resizes latents to an image size, as ComfyUI's LatentUpscale does.</summary>
[Node("latent.resize", "1.0.0", Category = "latent", Title = "Resize Latent",
    Description = "Resizes latents to the latent size of an image width × height (0 for one side keeps the aspect ratio; both 0 keep the size), with torch's nearest-exact, bilinear, bicubic or area interpolation and an optional centre crop to the new aspect first, as ComfyUI's Upscale Latent.")]
public sealed class LatentResizeNode : INode
{
    /// <summary>The latents.</summary>
    [Input(Description = "The latents to resize.")]
    public Latent? Latent { get; set; }

    /// <summary>Target width in pixels.</summary>
    [Parameter(Description = "Target image width in pixels (latent width × 8); 0 follows the height's scale.", Min = 0, Max = 16384, Step = 8)]
    public int Width { get; set; } = 512;

    /// <summary>Target height in pixels.</summary>
    [Parameter(Description = "Target image height in pixels (latent height × 8); 0 follows the width's scale.", Min = 0, Max = 16384, Step = 8)]
    public int Height { get; set; } = 512;

    /// <summary>The interpolation.</summary>
    [Parameter(Description = "Interpolation, as torch.nn.functional.interpolate.", Choices = ["nearest-exact", "bilinear", "bicubic", "area"])]
    public string Method { get; set; } = "nearest-exact";

    /// <summary>Centre crop.</summary>
    [Parameter(Description = "Crop the centre to the new aspect ratio before resizing.")]
    public bool CenterCrop { get; set; }

    /// <summary>The result.</summary>
    [Output(Description = "The resized latents.")]
    public Latent? Resized { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Latent!;
        if (Width == 0 && Height == 0)
        {
            Resized = latent;
            return Task.CompletedTask;
        }

        // ComfyUI's rule: at least 64 pixels a side; a 0 side follows the aspect ratio.
        int width = Width, height = Height;
        if (width == 0) width = Math.Max(64, (int)Math.Round(latent.Width * 8.0 * Math.Max(64, height) / (latent.Height * 8.0), MidpointRounding.ToEven));
        if (height == 0) height = Math.Max(64, (int)Math.Round(latent.Height * 8.0 * Math.Max(64, width) / (latent.Width * 8.0), MidpointRounding.ToEven));
        width = Math.Max(64, width);
        height = Math.Max(64, height);
        var values = PlanarResize.Resize(latent.Values, latent.Batch * latent.Channels, latent.Height, latent.Width, height / 8, width / 8, Method, CenterCrop);
        Resized = new Latent(latent.Batch, latent.Channels, height / 8, width / 8, values, latent.Seeds);
        return Task.CompletedTask;
    }
}
