using FlowDiffusion.Imaging.Preprocessors;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Canny edges as ComfyUI's Canny node finds them (kornia's definition), as a control image.</summary>
[Node("image.canny_kornia", "1.0.0", Category = "image/preprocessors", Title = "Canny Edges (ComfyUI)",
    Description = "White edges on black, as ComfyUI's Canny node (kornia's canny) finds them: 5×5 gaussian blur (σ 1), Sobel, magnitude √(gx² + gy²), non-maximum suppression along the direction rounded to 45°, hysteresis. Thresholds are on the magnitude of the 0..1 image, not OpenCV's 8-bit scale (image.canny).")]
public sealed class ImageCannyKorniaNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to find edges in (at least 3 × 3 pixels).")]
    public Image? Image { get; set; }

    /// <summary>The lower threshold.</summary>
    [Parameter(Description = "Gradient magnitude above which a pixel is an edge when connected to a strong one.", Min = 0.01, Max = 0.99, Step = 0.01)]
    public double LowThreshold { get; set; } = 0.4;

    /// <summary>The upper threshold.</summary>
    [Parameter(Description = "Gradient magnitude above which a pixel is a strong edge.", Min = 0.01, Max = 0.99, Step = 0.01)]
    public double HighThreshold { get; set; } = 0.8;

    /// <summary>The edge map.</summary>
    [Output(Description = "The edge map: 1 on edges, 0 elsewhere, in all three channels.")]
    public Image? Edges { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        Edges = ControlImages.PerItem(image, item => KorniaCannyEdges.Detect(item, image.Height, image.Width, (float)LowThreshold, (float)HighThreshold));
        return Task.CompletedTask;
    }
}
