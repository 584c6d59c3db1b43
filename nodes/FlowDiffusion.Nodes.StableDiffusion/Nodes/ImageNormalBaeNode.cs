using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>NormalBAE's surface normals from <c>scannet.pt</c>, converted to ONNX once and cached.</summary>
[Node("image.normal_bae", "1.0.0", Category = "image/preprocessors", Title = "NormalBAE Normal Map",
    Description = "comfyui_controlnet_aux's BAE-NormalMapPreprocessor (sd-webui-controlnet's normal_bae): the 8-bit image scaled so its short side is the resolution and edge-padded to multiples of 64, ImageNet-normalised, NormalBAE (Bae et al. 2021: an EfficientNet-B5 encoder and a decoder that refines every pixel, read from scannet.pt, converted to ONNX on first use), the unit normal's (x, y, z) as RGB ((n + 1) / 2 × 255), cropped to the scaled size.")]
public sealed class ImageNormalBaeNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to estimate surface normals for.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "NormalBAE's weights (scannet.pt from lllyasviel/Annotators, as comfyui_controlnet_aux and sd-webui-controlnet download it), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/scannet.pt";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution, the extension's Preprocessor Resolution); the map has that size. The padded image may have at most 1536² pixels.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The map.</summary>
    [Output(Description = "The normal map: R, G, B = the normal's x, y, z from −1..1 to 0..255, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        AnnotatorResolution.Check(context, image, Resolution);
        var (networkHeight, networkWidth) = NormalBaeMap.NetworkSize(image.Height, image.Width, Resolution);
        if ((long)networkHeight * networkWidth > NormalBaeMap.MaxPixels)
        {
            throw new ArgumentException($"resolution: {Resolution} makes the network see {networkWidth}×{networkHeight}, more than the {NormalBaeMap.MaxPixels} pixels "
                + "(1536²) whose per-pixel refinement fits in memory; lower the resolution");
        }

        var network = AnnotatorGraphs.Open(context, Model, Provider, "normal_bae",
            "NormalBAE's scannet.pt (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareNormalBae(weights, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken, planes: 3);
        Result = ControlImages.PerItemBytes(image, item => NormalBaeMap.Apply(item, Resolution, network), cancellationToken);
        return Task.CompletedTask;
    }
}
