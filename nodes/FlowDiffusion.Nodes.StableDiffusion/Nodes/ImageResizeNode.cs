using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Resizes images, as ComfyUI's ImageScale does.</summary>
[Node("image.resize", "1.2.0", Category = "image", Title = "Resize Image",
    Description = "Resizes images to width × height (0 for one side keeps the aspect ratio), or by scale_by (ComfyUI's Upscale Image By), with torch's nearest-exact, bilinear, bicubic or area interpolation or Pillow's Lanczos (values clamped to 0..1) and an optional centre crop to the new aspect first, as ComfyUI's Upscale Image.")]
public sealed class ImageResizeNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to resize.")]
    public Image? Image { get; set; }

    /// <summary>Target width.</summary>
    [Parameter(Description = "Target width in pixels; 0 follows the height's scale.", Min = 0, Max = 16384)]
    public int Width { get; set; } = 512;

    /// <summary>Target height.</summary>
    [Parameter(Description = "Target height in pixels; 0 follows the width's scale.", Min = 0, Max = 16384)]
    public int Height { get; set; } = 512;

    /// <summary>A scale factor, overriding width and height.</summary>
    [Parameter(Description = "When above 0, scales the image's own width and height by this factor (rounded half to even) and ignores width and height.", Min = 0, Max = 16, Step = 0.05)]
    public double ScaleBy { get; set; }

    /// <summary>Target pixel count in megapixels.</summary>
    [Parameter(Description = "When above 0, scales the image to about this many megapixels (of 1024² pixels), keeping its aspect ratio: each side times √(⌊megapixels · 1024²⌋ / (width · height)), rounded half to even, as ComfyUI's ImageScaleToTotalPixels; ignores width, height and scale_by.", Min = 0, Max = 256, Step = 0.01)]
    public double Megapixels { get; set; }

    /// <summary>The interpolation.</summary>
    [Parameter(Description = "Interpolation, as torch.nn.functional.interpolate (lanczos: as Pillow's Image.LANCZOS).", Choices = ["nearest-exact", "bilinear", "bicubic", "area", "lanczos"])]
    public string Method { get; set; } = "nearest-exact";

    /// <summary>Centre crop.</summary>
    [Parameter(Description = "Crop the centre to the new aspect ratio before resizing.")]
    public bool CenterCrop { get; set; }

    /// <summary>The result.</summary>
    [Output(Description = "The resized images.")]
    public Image? Resized { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var scaleBy = Megapixels > 0 ? Math.Sqrt(Math.Floor(Megapixels * 1024 * 1024) / ((double)image.Width * image.Height)) : ScaleBy;
        if ((LargestSize > 0 ? ResizeTarget.Largest(image.Width, image.Height, LargestSize) : ResizeTarget.Of(image.Width, image.Height, Width, Height, scaleBy, minimum: 1))
            is not (int width, int height))
        {
            Resized = image;
            return Task.CompletedTask;
        }

        ProducedImageSize.Check(context, "width/height/scale_by/megapixels/largest_size", width, height);
        var pixels = PlanarResize.Resize(image.Pixels, image.Batch * 3, image.Height, image.Width, height, width, Method, CenterCrop);
        // Bicubic and Lanczos overshoot at sharp edges; an image stays in 0..1.
        for (var i = 0; i < pixels.Length; i++) pixels[i] = Math.Clamp(pixels[i], 0f, 1f);
        Resized = new Image(image.Batch, height, width, pixels);
        return Task.CompletedTask;
    }

    /// <summary>The longer side's target (ComfyUI's ImageScaleToMaxDimension).</summary>
    [Parameter(Description = "When above 0, the longer side becomes this many pixels and the other keeps the aspect ratio (side / longer side × largest_size, rounded half to even; a square becomes largest_size²), as ComfyUI's ImageScaleToMaxDimension; ignores width, height, scale_by and megapixels.", Min = 0, Max = 16384)]
    public int LargestSize { get; set; }
}
