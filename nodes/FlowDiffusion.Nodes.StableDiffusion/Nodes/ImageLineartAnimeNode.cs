using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The ControlNet annotators' anime lineart from <c>netG.pth</c>, converted to ONNX once and cached.</summary>
[Node("image.lineart_anime", "1.0.0", Category = "image/preprocessors", Title = "Lineart (anime)",
    Description = "comfyui_controlnet_aux's AnimeLineArtPreprocessor: the 8-bit image scaled so its short side is the resolution and padded to multiples of 64, INTER_CUBIC to multiples of 256, the pix2pix U-Net of netG.pth on it (read from the .pth, converted to ONNX on first use), map · 127.5 + 127.5 truncated, INTER_AREA back, 255 − that, cropped. Black lines on white.")]
public sealed class ImageLineartAnimeNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to draw lines from.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "The anime lineart annotator's weights (lllyasviel's netG.pth, as comfyui_controlnet_aux and sd-webui-controlnet download it; .pth or .safetensors), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/netG.pth";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
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
        AnnotatorResolution.Check(context, image, Resolution, AnimeLineartLines.Multiple);
        var network = AnnotatorGraphs.Open(context, Model, Provider, "lineart_anime",
            "the anime lineart annotator netG.pth (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareAnimeLineart(weights, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken);
        Result = ControlImages.PerItemBytes(image, item => AnimeLineartLines.Apply(item, Resolution, network), cancellationToken);
        return Task.CompletedTask;
    }
}
