using FlowDiffusion.Imaging.Preprocessors;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Canny edges as a control image.</summary>
[Node("image.canny", "1.0.0", Category = "image/preprocessors", Title = "Canny Edges",
    Description = "White edges on black, by OpenCV's Canny steps on the 8-bit luminance (3×3 Sobel, L1 magnitude, non-maximum suppression, hysteresis), as the canny ControlNet's annotator makes them.")]
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

    /// <summary>The edge map.</summary>
    [Output(Description = "The edge map: 1 on edges, 0 elsewhere, in all three channels.")]
    public Image? Edges { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        Edges = ControlImages.PerItem(image, item => CannyEdges.Detect(item, image.Height, image.Width, LowThreshold, HighThreshold));
        return Task.CompletedTask;
    }
}
