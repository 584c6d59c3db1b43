using FlowDiffusion.Imaging.Filters;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>An image's Y, U and V (YCbCr) as three grey images, as ComfyUI's ImageRGBToYUV.</summary>
[Node("image.to_yuv", "1.0.0", Category = "image/color", Title = "Image RGB to YUV",
    Description = "Splits images into Y, U (Cb) and V (Cr) with kornia's coefficients, as ComfyUI's ImageRGBToYUV: Y = 0.299 R + 0.587 G + 0.114 B, U = (B − Y) · 0.564 + 0.5, V = (R − Y) · 0.713 + 0.5, each as a grey image (the value in all three channels).")]
public sealed class ImageToYuvNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The RGB images.")]
    public Image? Image { get; set; }

    /// <summary>The luma.</summary>
    [Output(Description = "Y as grey images.")]
    public Image? Y { get; set; }

    /// <summary>The blue-difference chroma.</summary>
    [Output(Description = "U (Cb) as grey images, 0.5 where the pixel is grey.")]
    public Image? U { get; set; }

    /// <summary>The red-difference chroma.</summary>
    [Output(Description = "V (Cr) as grey images, 0.5 where the pixel is grey.")]
    public Image? V { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var plane = image.Height * image.Width;
        var yuv = KorniaYCbCr.FromRgb(image.Pixels, plane);
        Image Grey(int channel)
        {
            var pixels = new float[image.Batch * 3 * plane];
            for (var b = 0; b < image.Batch; b++)
            for (var c = 0; c < 3; c++)
                yuv.AsSpan((b * 3 + channel) * plane, plane).CopyTo(pixels.AsSpan((b * 3 + c) * plane));
            return new Image(image.Batch, image.Height, image.Width, pixels);
        }

        (Y, U, V) = (Grey(0), Grey(1), Grey(2));
        return Task.CompletedTask;
    }
}
