using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The ControlNet MiDaS annotator's depth and normal maps from <c>dpt_hybrid-midas-501f0c75.pt</c>, converted to ONNX once and cached.</summary>
[Node("image.midas", "1.0.0", Category = "image/preprocessors", Title = "MiDaS Depth and Normal (DPT-Hybrid)",
    Description = "comfyui_controlnet_aux's MiDaS-DepthMapPreprocessor and MiDaS-NormalMapPreprocessor, sd-webui-controlnet's depth_midas and normal_midas: MiDaS v3 DPT-Hybrid read from dpt_hybrid-midas-501f0c75.pt (converted to ONNX on first use) on the image scaled so its short side is the resolution and edge-padded to multiples of 64, as x / 127.5 − 1; depth: the relative inverse depth stretched min–max to 0..255 (near white), grey; normal: Sobel slopes of the raw depth with z = a, zero slope where the depth is below bg_threshold, normalised to 0..255. Both cropped to the scaled size.")]
public sealed class ImageMidasNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to estimate depth for.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "MiDaS DPT-Hybrid's weights (dpt_hybrid-midas-501f0c75.pt from lllyasviel/Annotators, as both front ends download it), relative to the working folder. For another MiDaS exported to ONNX use image.depth.")]
    public string Model { get; set; } = "models/annotators/dpt_hybrid-midas-501f0c75.pt";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to for the network and the maps have (aux's resolution, the extension's Preprocessor Resolution).", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The normal's z.</summary>
    [Parameter(Description = "The normal's z against the depth's Sobel slopes (2π by default): larger flattens the normal map.", Min = 0, Max = 15.71, Step = 0.05)]
    public double A { get; set; } = MidasMaps.DefaultA;

    /// <summary>The background threshold.</summary>
    [Parameter(Description = "Where the min–max depth (0..1) is below this, the normal faces the viewer (aux's bg_threshold 0.1; the extension's normal_midas threshold 0.4).", Min = 0, Max = 1, Step = 0.01)]
    public double BgThreshold { get; set; } = 0.1;

    /// <summary>Whose channel order for the normal map.</summary>
    [Parameter(Description = "aux: the normal's RGB is (z, y, x), as comfyui_controlnet_aux's detector flips it; webui: (x, y, z), as sd-webui-controlnet's. The depth map is the same in both.", Choices = ["aux", "webui"])]
    public string Variant { get; set; } = "aux";

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The depth map.</summary>
    [Output(Description = "Relative depth, near white and far black, grey in all three channels, the short side at the resolution.")]
    public Image? Depth { get; set; }

    /// <summary>The normal map.</summary>
    [Output(Description = "The normal map from the depth's slopes, the short side at the resolution.")]
    public Image? Normal { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var reverse = Variant switch
        {
            "aux" => true,
            "webui" => false,
            _ => throw new ArgumentException($"variant: '{Variant}' is not one of aux, webui"),
        };
        if (!double.IsFinite(A) || A < 0)
            throw new ArgumentException($"a: {A} is not a finite number ≥ 0");
        if (!double.IsFinite(BgThreshold))
            throw new ArgumentException($"bg_threshold: {BgThreshold} is not a finite number");
        AnnotatorResolution.Check(context, image, Resolution);
        var (networkHeight, networkWidth, patches) = MidasMaps.NetworkSize(image.Height, image.Width, Resolution);
        if (patches > MidasMaps.MaxPatches)
        {
            throw new ArgumentException($"resolution: {Resolution} makes the network see {networkWidth}×{networkHeight} ({patches} patches of 16 px, at most {MidasMaps.MaxPatches}, "
                + "16 × the 24² DPT-Hybrid was trained at); lower the resolution");
        }

        var network = AnnotatorGraphs.Open(context, Model, Provider, "midas",
            "MiDaS DPT-Hybrid's weights (dpt_hybrid-midas-501f0c75.pt from lllyasviel/Annotators, as comfyui_controlnet_aux and sd-webui-controlnet download it)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareMidas(weights, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken);
        var depths = new List<Rgb8Image>(image.Batch);
        var normals = new List<Rgb8Image>(image.Batch);
        for (var b = 0; b < image.Batch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (depth, normal) = MidasMaps.Apply(Rgb8Image.FromPlanar(image.PixelsOf(b), image.Height, image.Width), Resolution, (float)A, (float)BgThreshold, reverse, network);
            depths.Add(depth);
            normals.Add(normal);
        }

        Depth = ControlImages.Stack(depths);
        Normal = ControlImages.Stack(normals);
        return Task.CompletedTask;
    }
}
