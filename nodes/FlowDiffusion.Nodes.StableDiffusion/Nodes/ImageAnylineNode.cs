using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Anyline's merge: lineart within an intensity band, small objects removed, screened over an edge map.</summary>
[Node("image.anyline", "1.0.0", Category = "image/preprocessors", Title = "Anyline Merge",
    Description = "The last step of comfyui_controlnet_aux's AnyLineArtPreprocessor_aux (Anyline): the lines' first channel kept where it lies within lower…upper (0 elsewhere); scikit-image's remove_small_objects on that mask over three channels (a 4-connected component for connectivity 1, 8-connected for 2 and more, of n pixels goes when 3n < min size); where a kept line t is not 0 the edge value e becomes 1 − (1 − t)(1 − e), elsewhere e stays. Feed it image.teed on MTEED.pth (safe steps 2) and image.lineart_standard (sigma 2, threshold 3) at one resolution for aux's node.")]
public sealed class ImageAnylineNode : INode
{
    /// <summary>The edge maps.</summary>
    [Input(Description = "The edge maps (aux: TEED on MTEED.pth), the bottom layer.")]
    public Image? Edges { get; set; }

    /// <summary>The line maps.</summary>
    [Input(Description = "The lineart maps of the same size and batch (aux: standard lineart at sigma 2, threshold 3, or its merge_with_lineart choice); only the first channel is read.")]
    public Image? Lines { get; set; }

    /// <summary>The band's lower end.</summary>
    [Parameter(Description = "aux's lineart_lower_bound: lines below it (0..1) are dropped.", Min = 0, Max = 1, Step = 0.01)]
    public double LowerBound { get; set; }

    /// <summary>The band's upper end.</summary>
    [Parameter(Description = "aux's lineart_upper_bound: lines above it (0..1) are dropped.", Min = 0, Max = 1, Step = 0.01)]
    public double UpperBound { get; set; } = 1;

    /// <summary>The smallest object kept.</summary>
    [Parameter(Description = "aux's object_min_size: line objects of fewer elements (pixels × 3 channels, as scikit-image counts the three-channel mask) are removed.", Min = 1, Max = 16384, Step = 1)]
    public int MinSize { get; set; } = 36;

    /// <summary>The neighbourhood.</summary>
    [Parameter(Description = "aux's object_connectivity: 1 joins pixels that share a side, 2 and more also diagonal ones.", Min = 1, Max = 16384, Step = 1)]
    public int Connectivity { get; set; } = 1;

    /// <summary>The merged map.</summary>
    [Output(Description = "The merged map, the edge maps' size.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Image edges = Edges!, lines = Lines!;
        if (LowerBound is < 0 or > 1 || !double.IsFinite(LowerBound)) throw new ArgumentException($"lower_bound: {LowerBound} is outside 0…1");
        if (UpperBound is < 0 or > 1 || !double.IsFinite(UpperBound)) throw new ArgumentException($"upper_bound: {UpperBound} is outside 0…1");
        if (MinSize is < 1 or > 16384) throw new ArgumentException($"min_size: {MinSize} is outside 1…16384");
        if (Connectivity is < 1 or > 16384) throw new ArgumentException($"connectivity: {Connectivity} is outside 1…16384");
        if (lines.Batch != edges.Batch || lines.Height != edges.Height || lines.Width != edges.Width)
            throw new ArgumentException($"lines: {lines.Batch} × {lines.Width}×{lines.Height} does not match edges' {edges.Batch} × {edges.Width}×{edges.Height} (give both annotators the same image and resolution)");

        var pixels = new float[edges.Batch * 3 * edges.Height * edges.Width];
        for (var b = 0; b < edges.Batch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            AnylineMerge.Apply(edges.PixelsOf(b), lines.PixelsOf(b), edges.Height, edges.Width, LowerBound, UpperBound, MinSize, Connectivity)
                .CopyTo(pixels.AsSpan(b * 3 * edges.Height * edges.Width));
        }

        Result = new Image(edges.Batch, edges.Height, edges.Width, pixels);
        return Task.CompletedTask;
    }
}
