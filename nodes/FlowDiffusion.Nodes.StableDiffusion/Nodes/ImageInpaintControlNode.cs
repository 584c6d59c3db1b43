using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>comfyui_controlnet_aux's inpaint preprocessor: the control image of an inpaint ControlNet.</summary>
[Node("image.inpaint_control", "1.0.0", Category = "image/preprocessors", Title = "Inpaint Control Image",
    Description = "comfyui_controlnet_aux's InpaintPreprocessor: the mask resized bilinearly to the image (torch's interpolate), and the image's pixels where it is above 0.5 set to −1 in all three channels, the marker ControlNet 1.1's inpaint model reads (0 for xinsir's union models). −1 is outside the image range: controlnet.apply passes it through; a saved or previewed image shows it black.")]
public sealed class ImageInpaintControlNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to inpaint.")]
    public Image? Image { get; set; }

    /// <summary>The mask.</summary>
    [Input(Description = "White = repaint: one mask for the whole batch, or one per image.")]
    public Mask? Mask { get; set; }

    /// <summary>Whether masked pixels are 0 rather than −1.</summary>
    [Parameter(Description = "Mark masked pixels 0 (black) instead of −1, for xinsir's ControlNets (aux's black_pixel_for_xinsir_cn).")]
    public bool BlackPixels { get; set; }

    /// <summary>The control image.</summary>
    [Output(Description = "The image with masked pixels at −1 (or 0).")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var mask = Mask!;
        if (mask.Batch != 1 && mask.Batch != image.Batch)
            throw new ArgumentException($"mask: {mask.Batch} masks for {image.Batch} images; give one mask or one per image");
        var plane = image.Height * image.Width;
        var pixels = image.ToArray();
        var marker = BlackPixels ? 0f : -1f;
        for (var b = 0; b < image.Batch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var source = mask.Values.Slice((mask.Batch == 1 ? 0 : b) * mask.Height * mask.Width, mask.Height * mask.Width);
            var resized = mask.Height == image.Height && mask.Width == image.Width
                ? source.ToArray()
                : PlanarResize.Resize(source, 1, mask.Height, mask.Width, image.Height, image.Width, "bilinear", centerCrop: false);
            for (var i = 0; i < plane; i++)
            {
                if (!(resized[i] > 0.5f)) continue;
                for (var c = 0; c < 3; c++) pixels[(b * 3 + c) * plane + i] = marker;
            }
        }

        Result = new Image(image.Batch, image.Height, image.Width, pixels);
        return Task.CompletedTask;
    }
}
