using FlowDiffusion.Imaging.Preprocessors;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Canny edges as a control image.</summary>
[Node("image.canny", "1.1.0", Category = "image/preprocessors", Title = "Canny Edges",
    Description = "White edges on black, by OpenCV's Canny steps (3×3 Sobel, L1 magnitude, non-maximum suppression, hysteresis) on the 8-bit luminance, or, with channels rgb, on the colour image as cv2.Canny takes it (each pixel's strongest channel). A resolution scales the image first as the ControlNet annotators do (comfyui_controlnet_aux's CannyEdgePreprocessor: rgb at 512).")]
public sealed class ImageCannyNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to find edges in.")]
    public Image? Image { get; set; }

    /// <summary>The lower threshold.</summary>
    [Parameter(Description = "Gradient magnitude (OpenCV's 8-bit scale) above which a pixel is an edge when connected to a strong one.", Min = 0, Max = 2040, Step = 1)]
    public double LowThreshold { get; set; } = 100;

    /// <summary>The upper threshold.</summary>
    [Parameter(Description = "Gradient magnitude above which a pixel is a strong edge.", Min = 0, Max = 2040, Step = 1)]
    public double HighThreshold { get; set; } = 200;

    /// <summary>Which gradient the edges follow.</summary>
    [Parameter(Description = "luminance: the grey image's gradient (0.299 R + 0.587 G + 0.114 B, rounded to 8 bits); rgb: each pixel's channel with the largest gradient, as cv2.Canny on a colour image (the bytes truncated, as the annotators make them).", Choices = ["luminance", "rgb"])]
    public string Channels { get; set; } = "luminance";

    /// <summary>The detect resolution.</summary>
    [Parameter(Description = "0: the image's own size; 64 or more: the short side the image is scaled to first (INTER_CUBIC up, INTER_AREA down, padded to multiples of 64 by repeating the edge as the annotators do); the edges have that size.", Min = 0, Max = 16384, Step = 64)]
    public int Resolution { get; set; }

    /// <summary>The edge map.</summary>
    [Output(Description = "The edge map: 1 on edges, 0 elsewhere, in all three channels.")]
    public Image? Edges { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (Resolution is > 0 and < 64) throw new ArgumentException($"resolution: {Resolution} is neither 0 (the image's size) nor at least 64");
        if (Resolution == 0 && Channels == "luminance")
        {
            Edges = ControlImages.PerItem(image, item => CannyEdges.Detect(item, image.Height, image.Width, LowThreshold, HighThreshold));
            return Task.CompletedTask;
        }

        if (Resolution > 0) AnnotatorResolution.Check(context, image, Resolution);
        Edges = ControlImages.PerItemBytes(image, item =>
        {
            var (padded, height, width) = Resolution > 0 ? AnnotatorInput.ResizeWithPad(item, Resolution) : (item, item.Height, item.Width);
            var edges = Channels == "rgb"
                ? CannyEdges.DetectRgb8(padded, LowThreshold, HighThreshold)
                : CannyEdges.Detect(padded.ToPlanar(), padded.Height, padded.Width, LowThreshold, HighThreshold);
            return Rgb8Image.Grey(padded.Height, padded.Width, edges.Select(e => e > 0 ? (byte)255 : (byte)0).ToArray()).Crop(height, width);
        }, cancellationToken);
        return Task.CompletedTask;
    }
}
