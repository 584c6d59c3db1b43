using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The ControlNet annotators' realistic or coarse lineart from <c>sk_model.pth</c> or <c>sk_model2.pth</c>, converted to ONNX once and cached.</summary>
[Node("image.lineart", "1.0.0", Category = "image/preprocessors", Title = "Lineart (realistic / coarse)",
    Description = "comfyui_controlnet_aux's LineArtPreprocessor (sd-webui-controlnet's lineart_realistic and lineart_coarse): the 8-bit image scaled so its short side is the resolution and padded to multiples of 64, the lineart generator of sk_model.pth (realistic) or sk_model2.pth (coarse) on it (read from the .pth, converted to ONNX on first use), 255 − its map × 255 truncated, cropped. Black lines on white.")]
public sealed class ImageLineartNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to draw lines from.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "The lineart annotator's weights (lllyasviel's sk_model.pth for realistic, sk_model2.pth for coarse, as comfyui_controlnet_aux and sd-webui-controlnet download them; .pth or .safetensors), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/sk_model.pth";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution, the extension's Preprocessor Resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The map.</summary>
    [Output(Description = "Black lines on white, grey in all three channels, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        AnnotatorResolution.Check(context, image, Resolution);
        var network = AnnotatorGraphs.Open(context, Model, Provider, "lineart",
            "the lineart annotator sk_model.pth (realistic) or sk_model2.pth (coarse) (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareLineart(weights, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken);
        Result = ControlImages.PerItemBytes(image, item => LineartLines.Apply(item, Resolution, network), cancellationToken);
        return Task.CompletedTask;
    }
}
