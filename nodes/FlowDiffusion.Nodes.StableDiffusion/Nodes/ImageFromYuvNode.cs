using FlowDiffusion.Imaging.Filters;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>RGB images from Y, U and V images, as ComfyUI's ImageYUVToRGB.</summary>
[Node("image.from_yuv", "1.0.0", Category = "image/color", Title = "Image YUV to RGB",
    Description = "Joins Y, U (Cb) and V (Cr) into RGB with kornia's coefficients, as ComfyUI's ImageYUVToRGB: each input's three channels are averaged, then R = Y + 1.403 (V − 0.5), G = Y − 0.714 (V − 0.5) − 0.344 (U − 0.5), B = Y + 1.773 (U − 0.5), clamped to 0 … 1. The three inputs must have one size and batch.")]
public sealed class ImageFromYuvNode : INode
{
    /// <summary>The luma.</summary>
    [Input(Description = "Y as images (their channels are averaged).")]
    public Image? Y { get; set; }

    /// <summary>The blue-difference chroma.</summary>
    [Input(Description = "U (Cb) as images (their channels are averaged).")]
    public Image? U { get; set; }

    /// <summary>The red-difference chroma.</summary>
    [Input(Description = "V (Cr) as images (their channels are averaged).")]
    public Image? V { get; set; }

    /// <summary>The RGB images.</summary>
    [Output(Description = "The RGB images.")]
    public Image? Image { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Image y = Y!, u = U!, v = V!;
        foreach (var (other, name) in new[] { (u, "U"), (v, "V") })
        {
            if (other.Batch != y.Batch || other.Height != y.Height || other.Width != y.Width)
                throw new ArgumentException($"{name} is {other.Batch} × {other.Width}×{other.Height} but Y {y.Batch} × {y.Width}×{y.Height}; the three must match");
        }

        var plane = y.Height * y.Width;
        var yuv = new float[y.Batch * 3 * plane];
        for (var b = 0; b < y.Batch; b++)
        {
            var inputs = new[] { y, u, v };
            for (var c = 0; c < 3; c++)
            {
                var source = inputs[c].PixelsOf(b);
                var target = yuv.AsSpan((b * 3 + c) * plane, plane);
                // torch's mean over the three channels: their float32 sum divided by 3.
                for (var i = 0; i < plane; i++) target[i] = (source[i] + source[plane + i] + source[2 * plane + i]) / 3f;
            }
        }

        Image = new Image(y.Batch, y.Height, y.Width, KorniaYCbCr.ToRgb(yuv, plane));
        return Task.CompletedTask;
    }
}
