using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Reads a mask image.</summary>
[Node("mask.load", "1.0.0", Category = "image", Title = "Load Mask",
    Description = "Reads a mask image: white (luminance 1) repaints, black keeps, as in diffusers; or one colour channel, or the alpha channel as ComfyUI does (transparent repaints). Optionally resized and inverted.")]
public sealed class MaskLoadNode : INode
{
    /// <summary>The file.</summary>
    [Parameter(Description = "The mask file, relative to the working folder.", Kind = ParameterKind.MaskFile, Required = true)]
    public string Path { get; set; } = "";

    /// <summary>Target width.</summary>
    [Parameter(Description = "Resize to this width (0 = keep).", Min = 0, Max = 8192, Step = 8)]
    public int Width { get; set; }

    /// <summary>Target height.</summary>
    [Parameter(Description = "Resize to this height (0 = keep).", Min = 0, Max = 8192, Step = 8)]
    public int Height { get; set; }

    /// <summary>Invert.</summary>
    [Parameter(Description = "Swap what is repainted and what is kept.")]
    public bool Invert { get; set; }

    /// <summary>The channel read.</summary>
    [Parameter(Description = "What the mask is read from: luminance, one colour channel (value/255), or alpha as ComfyUI reads it (1 − alpha: transparent is 1).",
        Choices = ["luminance", "red", "green", "blue", "alpha"])]
    public string Channel { get; set; } = "luminance";

    /// <summary>The mask.</summary>
    [Output(Description = "The mask, [1, 1, H, W] in [0, 1].")]
    public Mask? Mask { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var path = PathResolver.Resolve(context, Path);
        // A replaced mask file is read again by the next run, not served from the cache.
        context.DependsOn(path);
        var (values, width, height) = ImageFiles.LoadChannel(path, Path, context.Limits, Width, Height, Channel, Invert, cancellationToken);
        Mask = MaskSources.Remember(new Mask(1, height, width, values), path);
        return Task.CompletedTask;
    }
}
