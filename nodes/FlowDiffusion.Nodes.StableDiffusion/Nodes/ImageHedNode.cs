using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The ControlNet annotators' HED soft edges from <c>ControlNetHED.pth</c>, converted to ONNX once and cached.</summary>
[Node("image.hed", "1.1.0", Category = "image/preprocessors", Title = "HED Soft Edges",
    Description = "comfyui_controlnet_aux's HEDPreprocessor (sd-webui-controlnet's softedge_hed and softedge_hedsafe): the 8-bit image scaled so its short side is the resolution and padded to multiples of 64, the HED network of ControlNetHED.pth (read from the .pth, converted to ONNX on first use) on it, the sigmoid of the mean of its five side outputs as grey levels; safe quantises to 0, 127 and 255. White soft edges on black. scribble makes it a fake scribble (aux's FakeScribblePreprocessor on the padded map, sd-webui-controlnet's scribble_hed on the cropped one): aux's nms at 127 with σ 3, blurred with σ 3 again, white where above 4.")]
public sealed class ImageHedNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to find edges in.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "The HED annotator's weights (lllyasviel's ControlNetHED.pth, as comfyui_controlnet_aux and sd-webui-controlnet download it; .pth or .safetensors), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/ControlNetHED.pth";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution, the extension's Preprocessor Resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>Safe mode.</summary>
    [Parameter(Description = "Quantise the edges to three levels (0, 127, 255) as aux's safe option and softedge_hedsafe do.")]
    public bool Safe { get; set; } = true;

    /// <summary>Scribble mode.</summary>
    [Parameter(Description = "none: the soft edges; padded: a fake scribble drawn on the padded map before cropping (aux's FakeScribblePreprocessor); cropped: drawn on the cropped map (sd-webui-controlnet's scribble_hed). White lines (255) on black (0).",
        Choices = ["none", "padded", "cropped"])]
    public string Scribble { get; set; } = "none";

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The map.</summary>
    [Output(Description = "White soft edges on black, grey in all three channels, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var scribble = Scribble switch
        {
            "none" => HedScribbleMode.None,
            "padded" => HedScribbleMode.BeforeCrop,
            "cropped" => HedScribbleMode.AfterCrop,
            _ => throw new ArgumentException($"scribble: '{Scribble}' is not one of none, padded, cropped"),
        };
        AnnotatorResolution.Check(context, image, Resolution);
        var network = AnnotatorGraphs.Open(context, Model, Provider, "hed",
            "the HED annotator ControlNetHED.pth (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareHed(weights, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken);
        Result = ControlImages.PerItemBytes(image, item => HedEdges.Apply(item, Resolution, Safe, network, scribble, cancellationToken), cancellationToken);
        return Task.CompletedTask;
    }
}
