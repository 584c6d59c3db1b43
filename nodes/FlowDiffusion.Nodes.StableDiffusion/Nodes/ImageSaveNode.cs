using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Writes PNGs that carry their workflow.</summary>
[Node("image.save", "1.1.0", Category = "image", Title = "Save Image", IsOutput = true, Deterministic = false,
    Description = "Writes every image of the batch as a PNG in the output folder, never overwriting: prefix_00001.png, prefix_00002.png, … Each PNG carries the workflow YAML and the run's inputs (seed included) in text chunks; dropping it on the editor restores the graph. Extra text entries (ComfyUI's prompt and workflow, from the ComfyUI layer) go in text chunks too.")]
public sealed class ImageSaveNode : INode
{
    /// <summary>PNG text keyword holding the workflow YAML.</summary>
    public const string WorkflowKeyword = "flowdiffusion.workflow";

    /// <summary>PNG text keyword holding the run's inputs as JSON.</summary>
    public const string InputsKeyword = "flowdiffusion.inputs";

    /// <summary>The images.</summary>
    [Input(Description = "The images to save.")]
    public Image? Images { get; set; }

    /// <summary>The file name prefix.</summary>
    [Parameter(Description = "File name prefix; placeholders as ComfyUI's: %date% or %date:yyyy-MM-dd_hh-mm-ss%, %workflow% (the workflow's name), %NAME% (workflow input NAME, e.g. %seed%).")]
    public string Prefix { get; set; } = "flowdiffusion";

    /// <summary>Extra text entries.</summary>
    [Parameter(Description = "Extra text chunks, as a JSON object of strings (the ComfyUI layer puts ComfyUI's prompt and workflow here, which ComfyUI loads from a dropped image): tEXt when the text is Latin-1, else iTXt, as Pillow writes them; keys of 1 to 79 Latin-1 characters; empty for none.")]
    public string Metadata { get; set; } = "";

    /// <summary>The files written.</summary>
    [Output(Description = "The paths written, one per image.")]
    public string[] Files { get; set; } = [];

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var metadata = PngOutputs.Metadata(Metadata);
        var prefix = OutputNamePattern.ExpandPlain(Prefix, context.Workflow, DateTime.Now);
        var files = await PngOutputs.WriteAsync(context, Images!, prefix, metadata, cancellationToken);
        Files = files;
    }
}
