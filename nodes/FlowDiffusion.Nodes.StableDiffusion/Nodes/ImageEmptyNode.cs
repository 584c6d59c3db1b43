using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Images of one colour, as ComfyUI's EmptyImage.</summary>
[Node("image.empty", "1.0.0", Category = "image", Title = "Empty Image",
    Description = "batch images of width × height in one colour, as ComfyUI's EmptyImage: color is 0xRRGGBB as an integer (red = (color >> 16) & 255, each channel / 255), within FlowDiffusion:MaxImagePixels; at most 64 images (ComfyUI allows 4096).")]
public sealed class ImageEmptyNode : INode
{
    /// <summary>The width.</summary>
    [Parameter(Description = "Width in pixels.", Min = 1, Max = 16384)]
    public int Width { get; set; } = 512;

    /// <summary>The height.</summary>
    [Parameter(Description = "Height in pixels.", Min = 1, Max = 16384)]
    public int Height { get; set; } = 512;

    /// <summary>How many images.</summary>
    [Parameter(Description = "How many images.", Min = 1, Max = 64)]
    public int Batch { get; set; } = 1;

    /// <summary>The colour.</summary>
    [Parameter(Description = "The colour as 0xRRGGBB (0 = black, 16777215 = white).", Min = 0, Max = 16777215)]
    public int Color { get; set; }

    /// <summary>The images.</summary>
    [Output(Description = "The images.")]
    public Image? Image { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (Width < 1 || Height < 1) throw new ArgumentException($"width and height must be at least 1, not {Width} × {Height}");
        if (Batch is < 1 or > 64) throw new ArgumentException($"batch must be 1 … 64; got {Batch}");
        if (Color is < 0 or > 0xFFFFFF) throw new ArgumentException($"color must be 0 … 16777215 (0xRRGGBB); got {Color}");
        ProducedImageSize.Check(context, "image.empty", Width, Height);
        var plane = Width * Height;
        var pixels = new float[(long)Batch * 3 * plane];
        float[] channels = [(Color >> 16 & 0xFF) / 255f, (Color >> 8 & 0xFF) / 255f, (Color & 0xFF) / 255f];
        for (var b = 0; b < Batch; b++)
        for (var c = 0; c < 3; c++)
            pixels.AsSpan((b * 3 + c) * plane, plane).Fill(channels[c]);
        Image = new Image(Batch, Height, Width, pixels);
        return Task.CompletedTask;
    }
}
