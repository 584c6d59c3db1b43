using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>TEED's soft edges from <c>7_model.pth</c>, converted to ONNX once and cached.</summary>
[Node("image.teed", "1.0.0", Category = "image/preprocessors", Title = "TEED Soft Edges",
    Description = "comfyui_controlnet_aux's TEEDPreprocessor (sd-webui-controlnet's softedge_teed): the 8-bit image scaled so its short side is the resolution and padded to multiples of 64, TEED (the tiny efficient edge detector of 7_model.pth, read from the .pth, converted to ONNX on first use) on its RGB 0..255 values, the sigmoid of the mean of its four outputs; safe steps n above 0 quantise it to ⌊(n + 1)·x⌋ / n as aux's safe_step; × 255 as grey levels. White soft edges on black.")]
public sealed class ImageTeedNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to find edges in.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "TEED's weights (7_model.pth of bdsqlsz/qinglong_controlnet-lllite, as comfyui_controlnet_aux and sd-webui-controlnet download it; .pth or .safetensors), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/7_model.pth";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution, the extension's Preprocessor Resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The safe steps.</summary>
    [Parameter(Description = "aux's safe_steps (the extension's Safe Steps): 0 keeps the plain sigmoid; n quantises each edge x to ⌊(n + 1)·x⌋ / n before × 255 (2: the levels 0, 127, 255).", Min = 0, Max = TeedEdges.MaxSafeSteps, Step = 1)]
    public int SafeSteps { get; set; } = 2;

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
        if (SafeSteps is < 0 or > TeedEdges.MaxSafeSteps)
            throw new ArgumentException($"safe_steps: {SafeSteps} is outside 0…{TeedEdges.MaxSafeSteps}");
        AnnotatorResolution.Check(context, image, Resolution);
        var network = AnnotatorGraphs.Open(context, Model, Provider, "teed",
            "TEED's 7_model.pth (bdsqlsz/qinglong_controlnet-lllite's Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareTeed(weights, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken);
        Result = ControlImages.PerItemBytes(image, item => TeedEdges.Apply(item, Resolution, SafeSteps, network), cancellationToken);
        return Task.CompletedTask;
    }
}
