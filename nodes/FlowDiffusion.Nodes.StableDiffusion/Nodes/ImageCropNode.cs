using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Cuts a rectangle out of each image, as ComfyUI's ImageCrop.</summary>
[Node("image.crop", "1.0.0", Category = "image", Title = "Crop Image",
    Description = "The width × height rectangle whose top-left corner is (x, y), cut to what lies inside the image (a corner past the edge moves to the last row or column, as ComfyUI's ImageCrop).")]
public sealed class ImageCropNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to crop.")]
    public Image? Image { get; set; }

    /// <summary>Width.</summary>
    [Parameter(Description = "Width of the rectangle.", Min = 1, Max = 16384)]
    public int Width { get; set; } = 512;

    /// <summary>Height.</summary>
    [Parameter(Description = "Height of the rectangle.", Min = 1, Max = 16384)]
    public int Height { get; set; } = 512;

    /// <summary>Left edge.</summary>
    [Parameter(Description = "The rectangle's left edge.", Min = 0, Max = 16384)]
    public int X { get; set; }

    /// <summary>Top edge.</summary>
    [Parameter(Description = "The rectangle's top edge.", Min = 0, Max = 16384)]
    public int Y { get; set; }

    /// <summary>The cropped images.</summary>
    [Output(Description = "The cropped images.")]
    public Image? Cropped { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (Width < 1 || Height < 1 || X < 0 || Y < 0) throw new ArgumentException($"crop {Width}×{Height} at ({X}, {Y}): width and height must be at least 1, x and y at least 0");
        int left = Math.Min(X, image.Width - 1), top = Math.Min(Y, image.Height - 1);
        int width = Math.Min(Width, image.Width - left), height = Math.Min(Height, image.Height - top);
        var pixels = new float[image.Batch * 3 * width * height];
        for (var p = 0; p < image.Batch * 3; p++)
        for (var y = 0; y < height; y++)
            image.Pixels.Slice((p * image.Height + top + y) * image.Width + left, width).CopyTo(pixels.AsSpan((p * height + y) * width, width));
        Cropped = new Image(image.Batch, height, width, pixels);
        return Task.CompletedTask;
    }
}
