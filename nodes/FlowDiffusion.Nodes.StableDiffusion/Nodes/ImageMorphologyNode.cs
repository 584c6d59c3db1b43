using FlowDiffusion.Imaging.Filters;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Grey morphology of images with a flat square, as ComfyUI's Morphology node (kornia.morphology).</summary>
[Node("image.morphology", "1.0.0", Category = "image/postprocessing", Title = "Image Morphology",
    Description = "Each channel's grey morphology with a flat kernel_size × kernel_size square, as ComfyUI's Morphology node computes it with kornia: erode (window minimum), dilate (window maximum), open (erode then dilate), close (dilate then erode), gradient (dilate − erode), top_hat (image − open) and bottom_hat (close − image). Pixels outside the image are left out of every window. An even kernel's window is one pixel longer up and left for erode and down and right for dilate, as kornia anchors them.")]
public sealed class ImageMorphologyNode : INode
{
    /// <summary>The largest kernel size, ComfyUI's bound.</summary>
    public const int MaxKernelSize = 999;

    /// <summary>The images.</summary>
    [Input(Description = "The images.")]
    public Image? Image { get; set; }

    /// <summary>The operation.</summary>
    [Parameter(Description = "erode, dilate, open, close, gradient, bottom_hat or top_hat.", Choices = ["erode", "dilate", "open", "close", "gradient", "bottom_hat", "top_hat"])]
    public string Operation { get; set; } = "erode";

    /// <summary>The square's side.</summary>
    [Parameter(Description = "The side of the square in pixels (3 … 999); the work per pixel does not grow with it.", Min = 3, Max = MaxKernelSize)]
    public int KernelSize { get; set; } = 3;

    /// <summary>The result.</summary>
    [Output(Description = "The images after the operation, at the input's size.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (KernelSize is < 3 or > MaxKernelSize) throw new ArgumentException($"kernel_size must be 3 … {MaxKernelSize}; got {KernelSize}");
        var image = Image!;
        Result = new Image(image.Batch, image.Height, image.Width, KorniaMorphology.Apply(image.Pixels, image.Height, image.Width, Operation, KernelSize, cancellationToken));
        return Task.CompletedTask;
    }
}
