using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>LeReS's depth map from <c>res101.pth</c>, converted to ONNX once and cached (boost, LeReS++, is not available).</summary>
[Node("image.leres", "1.0.0", Category = "image/preprocessors", Title = "LeReS Depth Map",
    Description = "comfyui_controlnet_aux's LeReS-DepthMapPreprocessor with boost disabled, sd-webui-controlnet's depth_leres: the 8-bit image scaled so its short side is the resolution and edge-padded to multiples of 64, as BGR 0..255 less the ImageNet mean over its std, LeReS (ResNeXt-101 32x8d, read from res101.pth, converted to ONNX on first use), the depth stretched to 16 bits and then 8, levels up to remove_near % of 255 zeroed, inverted (near white), levels up to remove_background % zeroed, cropped to the scaled size. The boosted LeReS++ (pix2pix merging of patches, latest_net_G.pth) is not available.")]
public sealed class ImageLeresNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to estimate depth for.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "LeReS's weights (res101.pth from lllyasviel/Annotators, as comfyui_controlnet_aux and sd-webui-controlnet download it), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/res101.pth";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution, the extension's Preprocessor Resolution); the map has that size. The padded image may have at most 2048² pixels.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>Remove near, in percent.</summary>
    [Parameter(Description = "aux's rm_nearest, the extension's Remove Near %: before the inversion, levels not above this percentage of 255 (floored) become 0, which is white once inverted.", Min = 0, Max = 100, Step = 0.1)]
    public double RemoveNear { get; set; }

    /// <summary>Remove background, in percent.</summary>
    [Parameter(Description = "aux's rm_background, the extension's Remove Background %: after the inversion, levels not above this percentage of 255 (floored) become 0 (black).", Min = 0, Max = 100, Step = 0.1)]
    public double RemoveBackground { get; set; }

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
        if (!double.IsFinite(RemoveNear) || RemoveNear is < 0 or > 100)
            throw new ArgumentException($"remove_near: {RemoveNear} is not a percentage from 0 to 100");
        if (!double.IsFinite(RemoveBackground) || RemoveBackground is < 0 or > 100)
            throw new ArgumentException($"remove_background: {RemoveBackground} is not a percentage from 0 to 100");
        AnnotatorResolution.Check(context, image, Resolution);
        var (networkHeight, networkWidth) = LeresDepth.NetworkSize(image.Height, image.Width, Resolution);
        if ((long)networkHeight * networkWidth > LeresDepth.MaxPixels)
        {
            throw new ArgumentException($"resolution: {Resolution} makes the network see {networkWidth}×{networkHeight}, more than the {LeresDepth.MaxPixels} pixels "
                + "(2048²) whose decoder maps fit in memory; lower the resolution");
        }

        var network = AnnotatorGraphs.Open(context, Model, Provider, "leres",
            "LeReS's res101.pth (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareLeres(weights, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken);
        Result = ControlImages.PerItemBytes(image, item => LeresDepth.Apply(item, Resolution, RemoveNear, RemoveBackground, network), cancellationToken);
        return Task.CompletedTask;
    }
}
