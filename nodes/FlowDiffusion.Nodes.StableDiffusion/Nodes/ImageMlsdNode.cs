using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The ControlNet annotators' M-LSD straight lines from <c>mlsd_large_512_fp32.pth</c>, converted to ONNX once and cached.</summary>
[Node("image.mlsd", "1.0.0", Category = "image/preprocessors", Title = "M-LSD Lines",
    Description = "comfyui_controlnet_aux's M-LSDPreprocessor (sd-webui-controlnet's mlsd): the 8-bit image scaled so its short side is the resolution and padded to multiples of 64, the M-LSD network of mlsd_large_512_fp32.pth (read from the .pth, converted to ONNX on first use) on it, up to 200 line centres (3×3 peaks of the centre map) whose score is above score_threshold and whose segment at half size is longer than distance_threshold, drawn as white lines of width 1 on black (cv2.line, ends truncated).")]
public sealed class ImageMlsdNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to find straight lines in.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "The M-LSD annotator's weights (lllyasviel's mlsd_large_512_fp32.pth, as comfyui_controlnet_aux and sd-webui-controlnet download it; .pth or .safetensors), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/mlsd_large_512_fp32.pth";

    /// <summary>thr_v.</summary>
    [Parameter(Description = "A line centre's score (the sigmoid of the centre map) must be above this (aux's score_threshold, the extension's MLSD Value Threshold).", Min = 0, Max = 2, Step = 0.01)]
    public double ScoreThreshold { get; set; } = 0.1;

    /// <summary>thr_d.</summary>
    [Parameter(Description = "A segment's length, in pixels at half the padded size, must be above this (aux's dist_threshold, the extension's MLSD Distance Threshold).", Min = 0, Max = 20, Step = 0.01)]
    public double DistanceThreshold { get; set; } = 0.1;

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution, the extension's Preprocessor Resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The map.</summary>
    [Output(Description = "White straight lines (255) on black (0) in all three channels, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (!double.IsFinite(ScoreThreshold) || ScoreThreshold < 0) throw new ArgumentException($"score_threshold: {ScoreThreshold} is not a number of 0 or more");
        if (!double.IsFinite(DistanceThreshold) || DistanceThreshold < 0) throw new ArgumentException($"distance_threshold: {DistanceThreshold} is not a number of 0 or more");
        AnnotatorResolution.Check(context, image, Resolution);
        var network = AnnotatorGraphs.Open(context, Model, Provider, "mlsd",
            "the M-LSD annotator mlsd_large_512_fp32.pth (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareMlsd(weights, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken,
            planes: 5, shrink: 2);
        Result = ControlImages.PerItemBytes(image, item => MlsdLines.Apply(item, Resolution, ScoreThreshold, DistanceThreshold, network), cancellationToken);
        return Task.CompletedTask;
    }
}
