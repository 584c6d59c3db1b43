using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Resizes latents to an image size, as ComfyUI's LatentUpscale does.</summary>
[Node("latent.resize", "1.1.0", Category = "latent", Title = "Resize Latent",
    Description = "Resizes latents to the latent size of an image width × height (0 for one side keeps the aspect ratio; both 0 keep the size) or by scale_by (ComfyUI's Upscale Latent By), with torch's nearest-exact, bilinear, bicubic or area interpolation or ComfyUI's bislerp (slerp between neighbouring latent vectors) and an optional centre crop to the new aspect first, as ComfyUI's Upscale Latent.")]
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

    /// <summary>A scale factor, overriding width and height.</summary>
    [Parameter(Description = "When above 0, scales the latents' own width and height by this factor (in latent pixels, rounded half to even) and ignores width and height.", Min = 0, Max = 8, Step = 0.05)]
    public double ScaleBy { get; set; }

    /// <summary>The interpolation.</summary>
    [Parameter(Description = "Interpolation, as torch.nn.functional.interpolate; bislerp: ComfyUI's, which keeps the latents' lengths where bilinear shrinks them.", Choices = ["nearest-exact", "bilinear", "bicubic", "area", "bislerp"])]
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
        // ComfyUI's rules: a scale factor acts on latent pixels; width and height are image pixels, at least 64 a side.
        var target = ScaleBy > 0
            ? ResizeTarget.Of(latent.Width, latent.Height, 0, 0, ScaleBy, minimum: 1)
            : ResizeTarget.Of(latent.Width * 8, latent.Height * 8, Width, Height, 0, minimum: 64) is (int w, int h) ? (w / 8, h / 8) : null;
        if (target is not (int width, int height))
        {
            Resized = latent;
            return Task.CompletedTask;
        }

        // The latent decodes to 8 × its sides.
        ProducedImageSize.Check(context, "width/height/scale_by", 8L * width, 8L * height);

        var values = PlanarResize.Resize(latent.Values, latent.Batch * latent.Channels, latent.Height, latent.Width, height, width, Method, CenterCrop, latent.Channels);
        Resized = new Latent(latent.Batch, latent.Channels, height, width, values, latent.Seeds) { NoiseIndices = latent.NoiseIndices };
        return Task.CompletedTask;
    }
}
