using FlowDiffusion.Imaging.Preprocessors;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Inverts a mask, as ComfyUI's InvertMask.</summary>
[Node("mask.invert", "1.0.0", Category = "image", Title = "Invert Mask",
    Description = "1 − value at every pixel: what was repainted is kept and what was kept is repainted.")]
public sealed class MaskInvertNode : INode
{
    /// <summary>The mask.</summary>
    [Input(Description = "The mask to invert.")]
    public Mask? Mask { get; set; }

    /// <summary>The inverted mask.</summary>
    [Output(Description = "The inverted mask.")]
    public Mask? Inverted { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var mask = Mask!;
        Inverted = new Mask(mask.Batch, mask.Height, mask.Width, LineImages.Invert(mask.Values));
        return Task.CompletedTask;
    }
}
