using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;
using SkiaSharp;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Reads a mask image.</summary>
[Node("mask.load", "1.0.0", Category = "image", Title = "Load Mask",
    Description = "Reads a mask image: white (luminance 1) repaints, black keeps, as in diffusers. Optionally resized and inverted.")]
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

    /// <summary>The mask.</summary>
    [Output(Description = "The mask, [1, 1, H, W] in [0, 1].")]
    public Mask? Mask { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var path = PathResolver.Resolve(context, Path);
        using var bitmap = ImageFiles.Decode(path);
        using var sized = ImageFiles.Resize(bitmap, Width, Height);
        var values = new float[sized.Width * sized.Height];
        for (var y = 0; y < sized.Height; y++)
        for (var x = 0; x < sized.Width; x++)
        {
            SKColor c = sized.GetPixel(x, y);
            var luminance = (0.299f * c.Red + 0.587f * c.Green + 0.114f * c.Blue) / 255f;
            values[y * sized.Width + x] = Invert ? 1f - luminance : luminance;
        }
        Mask = MaskSources.Remember(new Mask(1, sized.Height, sized.Width, values), path);
        return Task.CompletedTask;
    }
}
