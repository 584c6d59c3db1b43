using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Reads an image file.</summary>
[Node("image.load", "1.0.0", Category = "image", Title = "Load Image",
    Description = "Reads a PNG, JPEG, WebP, BMP or GIF file as RGB, optionally resized (0 keeps the file's size).")]
public sealed class ImageLoadNode : INode
{
    /// <summary>The file.</summary>
    [Parameter(Description = "The image file, relative to the working folder.", Kind = ParameterKind.ImageFile, Required = true)]
    public string Path { get; set; } = "";

    /// <summary>Target width.</summary>
    [Parameter(Description = "Resize to this width (0 = keep).", Min = 0, Max = 8192, Step = 8)]
    public int Width { get; set; }

    /// <summary>Target height.</summary>
    [Parameter(Description = "Resize to this height (0 = keep).", Min = 0, Max = 8192, Step = 8)]
    public int Height { get; set; }

    /// <summary>The image.</summary>
    [Output(Description = "The image, batch of one.")]
    public Image? Image { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var path = PathResolver.Resolve(context, Path);
        // A replaced image file is read again by the next run, not served from the cache.
        context.DependsOn(path);
        Image = ImageFiles.Load(path, Path, context.Limits, Width, Height, cancellationToken);
        return Task.CompletedTask;
    }
}
