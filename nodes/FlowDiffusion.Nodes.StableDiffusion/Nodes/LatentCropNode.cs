using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Cuts a rectangle out of latents, as ComfyUI's LatentCrop.</summary>
[Node("latent.crop", "1.0.0", Category = "latent", Title = "Crop Latents",
    Description = "The width × height rectangle (image pixels, / 8 in the latents) whose top-left corner is (x, y) / 8, as ComfyUI's LatentCrop: a corner within 8 latent positions of the right or bottom edge moves back to 8 from it, and the rectangle is cut to what lies inside. Noise indices are kept.")]
public sealed class LatentCropNode : INode
{
    /// <summary>The latents.</summary>
    [Input(Description = "The latents to crop.")]
    public Latent? Latent { get; set; }

    /// <summary>Width.</summary>
    [Parameter(Description = "Width of the rectangle in image pixels.", Min = 64, Max = 16384, Step = 8)]
    public int Width { get; set; } = 512;

    /// <summary>Height.</summary>
    [Parameter(Description = "Height of the rectangle in image pixels.", Min = 64, Max = 16384, Step = 8)]
    public int Height { get; set; } = 512;

    /// <summary>Left edge.</summary>
    [Parameter(Description = "The rectangle's left edge in image pixels.", Min = 0, Max = 16384, Step = 8)]
    public int X { get; set; }

    /// <summary>Top edge.</summary>
    [Parameter(Description = "The rectangle's top edge in image pixels.", Min = 0, Max = 16384, Step = 8)]
    public int Y { get; set; }

    /// <summary>The cropped latents.</summary>
    [Output(Description = "The cropped latents.")]
    public Latent? Cropped { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Latent!;
        if (Width < 8 || Height < 8 || X < 0 || Y < 0) throw new ArgumentException($"crop {Width}×{Height} at ({X}, {Y}): width and height must be at least 8, x and y at least 0");
        // ComfyUI: x = min(x / 8, width − 8) and the slice [x, x + width / 8), with Python's rules for a negative start.
        int startX = Math.Min(X / 8, latent.Width - 8), startY = Math.Min(Y / 8, latent.Height - 8);
        var (left, right) = PythonSlice.Range(startX, startX + Width / 8, latent.Width);
        var (top, bottom) = PythonSlice.Range(startY, startY + Height / 8, latent.Height);
        int width = right - left, height = bottom - top;
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"crop {Width}×{Height} at ({X}, {Y}) leaves nothing of latents {latent.Width * 8}×{latent.Height * 8} (ComfyUI gives an empty latent there)");
        var values = new float[latent.Batch * latent.Channels * width * height];
        for (var p = 0; p < latent.Batch * latent.Channels; p++)
        for (var y = 0; y < height; y++)
            latent.Values.Slice((p * latent.Height + top + y) * latent.Width + left, width).CopyTo(values.AsSpan((p * height + y) * width, width));
        Cropped = new Latent(latent.Batch, latent.Channels, height, width, values, latent.Seeds) { NoiseIndices = latent.NoiseIndices };
        return Task.CompletedTask;
    }
}
