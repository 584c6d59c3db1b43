using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Depth Anything (V1 or V2) depth maps from the published <c>.pth</c>, converted to ONNX once and cached.</summary>
[Node("image.depth_anything", "1.0.0", Category = "image/preprocessors", Title = "Depth Anything",
    Description = "comfyui_controlnet_aux's DepthAnythingPreprocessor and DepthAnythingV2Preprocessor, sd-webui-controlnet's depth_anything and depth_anything_v2: the DINOv2 encoder and DPT head of the file (vits, vitb, vitl or vitg, read from the .pth or .safetensors and converted to ONNX on first use) on the image resized by cubic interpolation so its short side is at least the input size in multiples of 14, ImageNet-normalised; the relative depth stretched min–max to 0..255, near white, far black, grey in all three channels, the short side at the resolution.")]
public sealed class ImageDepthAnythingNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to estimate depth for.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "Depth Anything's weights (depth_anything_vits14/vitb14/vitl14.pth for V1, depth_anything_v2_vits/vitb/vitl/vitg.pth for V2; .pth or .safetensors; the size is read from the file), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/depth_anything_v2_vitl.pth";

    /// <summary>V1 or V2.</summary>
    [Parameter(Description = "v1: the head reads the encoder's last four blocks (LiheYoung/Depth-Anything); v2: the blocks Depth-Anything-V2 names per size. The files look alike; choose the version the file is.", Choices = ["v1", "v2"])]
    public string Version { get; set; } = "v2";

    /// <summary>Whose pipeline around the network.</summary>
    [Parameter(Description = "aux: comfyui_controlnet_aux's (the network on the whole image; V1 resizes the depth straight to the resolution, V2 resizes it to the image, then its bytes to the resolution); webui: sd-webui-controlnet's (the network on the image scaled to the resolution and edge-padded to multiples of 64, red and blue swapped as its detector does, then cropped).", Choices = ["aux", "webui"])]
    public string Variant { get; set; } = "aux";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the map is scaled to (aux's resolution, the extension's Preprocessor Resolution).", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The network's input size.</summary>
    [Parameter(Description = "The short side the network sees, at least (a multiple of 14; 518 as upstream and both front ends). Smaller is faster and coarser.", Min = 14, Max = DepthAnythingMap.MaxInputSize, Step = 14)]
    public int InputSize { get; set; } = DepthAnythingMap.DefaultInputSize;

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The map.</summary>
    [Output(Description = "Relative depth, near white and far black, grey in all three channels, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var version = Version switch
        {
            "v1" => DepthAnythingVersion.V1,
            "v2" => DepthAnythingVersion.V2,
            _ => throw new ArgumentException($"version: '{Version}' is not one of v1, v2"),
        };
        var variant = Variant switch
        {
            "aux" => version == DepthAnythingVersion.V1 ? DepthAnythingVariant.AuxV1 : DepthAnythingVariant.AuxV2,
            "webui" => DepthAnythingVariant.Extension,
            _ => throw new ArgumentException($"variant: '{Variant}' is not one of aux, webui"),
        };
        if (InputSize % 14 != 0)
            throw new ArgumentException($"input_size: {InputSize} is not a multiple of 14 (Depth Anything's patch size)");
        AnnotatorResolution.Check(context, image, Resolution);
        // The extension's network sees the scaled image padded to multiples of 64; aux's sees the image itself.
        var (scaledHeight, scaledWidth) = AnnotatorInput.ScaledSize(image.Height, image.Width, Resolution);
        var (networkHeight, networkWidth) = variant == DepthAnythingVariant.Extension
            ? DepthAnythingMap.InputSize((scaledHeight + 63) / 64 * 64, (scaledWidth + 63) / 64 * 64, InputSize)
            : DepthAnythingMap.InputSize(image.Height, image.Width, InputSize);
        if ((long)(networkHeight / 14) * (networkWidth / 14) > DepthAnythingMap.MaxPatches)
            throw new ArgumentException($"input_size: the network would see {networkWidth}×{networkHeight} ({networkHeight / 14 * (networkWidth / 14)} patches, at most {DepthAnythingMap.MaxPatches}); the image's aspect ratio is too extreme or input_size too large");
        var network = AnnotatorGraphs.Open(context, Model, Provider, "depth_anything",
            "Depth Anything's weights (depth_anything_vitl14.pth from LiheYoung/Depth-Anything, depth_anything_v2_vitl.pth from depth-anything/Depth-Anything-V2-Large, as comfyui_controlnet_aux downloads them)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareDepthAnything(weights, version, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken);
        Result = ControlImages.PerItemBytes(image, item => DepthAnythingMap.Apply(item, Resolution, variant, network, InputSize), cancellationToken);
        return Task.CompletedTask;
    }
}
