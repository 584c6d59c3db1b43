using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Shows images on the node in the editor (ComfyUI's Preview Image): an output node, so what feeds it runs.</summary>
[Node("image.preview", "1.0.0", Category = "image", Title = "Preview Image", IsOutput = true, Deterministic = false,
    Description = "Shows the images on this node in the editor, as ComfyUI's Preview Image does: an output node, so the nodes feeding it run (a latent.preview, say). The images are written to the run's outputs as preview_00001.png, … (listed in the history and the API like any output).")]
public sealed class ImagePreviewNode : INode
{
    /// <summary>The file name prefix of preview images.</summary>
    public const string Prefix = "preview";

    /// <summary>The images.</summary>
    [Input(Description = "The images to show.")]
    public Image? Images { get; set; }

    /// <summary>The files written.</summary>
    [Output(Description = "The paths written, one per image.")]
    public string[] Files { get; set; } = [];

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken) =>
        Files = await PngOutputs.WriteAsync(context, Images!, Prefix, new Dictionary<string, string>(), cancellationToken);
}
