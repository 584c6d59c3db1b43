using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The ControlNet annotators' PiDiNet soft edges from <c>table5_pidinet.pth</c>, converted to ONNX once and cached.</summary>
[Node("image.pidinet", "1.1.0", Category = "image/preprocessors", Title = "PiDiNet Soft Edges",
    Description = "comfyui_controlnet_aux's PiDiNetPreprocessor (sd-webui-controlnet's softedge_pidinet and softedge_pidisafe): the 8-bit image scaled so its short side is the resolution and padded to multiples of 64, as BGR / 255 through PiDiNet (carv4 with CDCM and CSAM) of table5_pidinet.pth (read from the .pth, its pixel-difference convolutions converted to plain ones, ONNX built on first use), the sigmoid of its fused output as grey levels; safe quantises to 0, 127 and 255. White soft edges on black. scribble cropped draws sd-webui-controlnet's scribble_pidinet on the cropped plain map: aux's nms at 127 with σ 3, blurred with σ 3 again, white where above 4. sketch draws sd-webui-controlnet's t2ia_sketch_pidi: 255 where the edge probability is above 0.5, 0 elsewhere.")]
public sealed class ImagePidinetNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to find edges in.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "PiDiNet's weights (lllyasviel's table5_pidinet.pth, as comfyui_controlnet_aux and sd-webui-controlnet download it; .pth or .safetensors, keys with or without module.), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/table5_pidinet.pth";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution, the extension's Preprocessor Resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>Safe mode.</summary>
    [Parameter(Description = "Quantise the edges to three levels (0, 127, 255) as aux's safe option and softedge_pidisafe do.")]
    public bool Safe { get; set; } = true;

    /// <summary>Scribble mode.</summary>
    [Parameter(Description = "none: the soft edges; cropped: a fake scribble drawn on the cropped map (sd-webui-controlnet's scribble_pidinet). White lines (255) on black (0).",
        Choices = ["none", "cropped"])]
    public string Scribble { get; set; } = "none";

    /// <summary>Sketch mode.</summary>
    [Parameter(Description = "sd-webui-controlnet's t2ia_sketch_pidi: white (255) where the edge probability is above 0.5, black elsewhere; safe and scribble must stay off.")]
    public bool Sketch { get; set; }

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
            "cropped" => HedScribbleMode.AfterCrop,
            _ => throw new ArgumentException($"scribble: '{Scribble}' is not one of none, cropped"),
        };
        if (Sketch && (Safe || scribble != HedScribbleMode.None)) throw new ArgumentException("sketch: thresholds the plain map; turn safe off and leave scribble at none");
        AnnotatorResolution.Check(context, image, Resolution);
        var network = AnnotatorGraphs.Open(context, Model, Provider, "pidinet",
            "PiDiNet's table5_pidinet.pth (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PreparePidinet(weights, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken);
        Result = ControlImages.PerItemBytes(image, item => Sketch ? PidinetEdges.ApplySketch(item, Resolution, network)
            : PidinetEdges.Apply(item, Resolution, Safe, network, scribble, cancellationToken), cancellationToken);
        return Task.CompletedTask;
    }
}
