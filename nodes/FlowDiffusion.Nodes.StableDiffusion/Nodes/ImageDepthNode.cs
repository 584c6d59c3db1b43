using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>A depth map from a MiDaS/DPT depth model exported to ONNX (models/annotators), as a control image.</summary>
[Node("image.depth", "1.0.0", Category = "image/preprocessors", Title = "Depth Map (MiDaS)",
    Description = "Runs a MiDaS/DPT depth model exported to ONNX (models/annotators) on each image: resized to the model's input size (bilinear), normalised, and its relative inverse depth rescaled to the image's size and to 0..1 (near is white), grey in all three channels, as the depth ControlNet's annotator makes it.")]
public sealed class ImageDepthNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to estimate depth for.")]
    public Image? Image { get; set; }

    /// <summary>The ONNX depth model.</summary>
    [Parameter(Description = "The depth model (.onnx: one input [1, 3, h, w], one output [1, h, w] or [1, 1, h, w]), relative to the working folder. For the annotators' dpt_hybrid-midas-501f0c75.pt itself use image.midas.")]
    public string Model { get; set; } = "models/annotators/dpt_hybrid-midas-501a.onnx";

    /// <summary>The input size.</summary>
    [Parameter(Description = "The side of the square the image is resized to for the model (ignored when the export fixes its input size). DPT models take multiples of 32 (384 trained).", Min = 32, Max = 2048, Step = 32)]
    public int Resolution { get; set; } = 384;

    /// <summary>The input normalisation.</summary>
    [Parameter(Description = "How the model expects its input: dpt (x − 0.5) / 0.5 (MiDaS v3 DPT), imagenet (ImageNet mean and deviation: MiDaS v2.1), none (0..1).", Choices = ["dpt", "imagenet", "none"])]
    public string Normalize { get; set; } = "dpt";

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The depth map.</summary>
    [Output(Description = "The depth map in 0..1 (near is white), grey RGB at the image's size.")]
    public Image? Depth { get; set; }

    private static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var path = PathResolver.Resolve(context, Model);
        if (!File.Exists(path))
            throw new FileNotFoundException($"model: depth model '{Model}' not found (looked at {path}); put a MiDaS/DPT depth model exported to ONNX in models/annotators.", path);
        if (!path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"model: '{Model}' is not an ONNX file; export the depth model to .onnx and put it in models/annotators (for dpt_hybrid-midas-501f0c75.pt use image.midas)");
        var options = OnnxSessionOptions.Parse(Provider, "");
        var sessions = ModelLibrary.Of(context).Sessions;
        var network = context.Resources.GetOrAdd($"annotator|{path}|{options.Describe()}", () => AnnotatorNetwork.Open(sessions, new OnnxModelSource(path, options)));
        var image = Image!;
        int height = network.FixedHeight ?? Resolution, width = network.FixedWidth ?? Resolution;
        Depth = ControlImages.PerItem(image, item =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            var input = image.Height == height && image.Width == width
                ? item.ToArray()
                : PlanarResize.Resize(item, 3, image.Height, image.Width, height, width, "bilinear", centerCrop: false);
            Normalise(input, height * width);
            var (map, mapHeight, mapWidth) = network.Run(input, height, width, cancellationToken);
            var resized = mapHeight == image.Height && mapWidth == image.Width
                ? map
                : PlanarResize.Resize(map, 1, mapHeight, mapWidth, image.Height, image.Width, "bilinear", centerCrop: false);
            return ZeroToOne(resized);
        });
        return Task.CompletedTask;
    }

    private void Normalise(float[] pixels, int plane)
    {
        for (var c = 0; c < 3; c++)
        {
            var (mean, std) = Normalize switch { "dpt" => (0.5f, 0.5f), "imagenet" => (ImageNetMean[c], ImageNetStd[c]), _ => (0f, 1f) };
            var span = pixels.AsSpan(c * plane, plane);
            for (var i = 0; i < span.Length; i++) span[i] = (span[i] - mean) / std;
        }
    }

    // Min-max to 0..1 (a flat map is black): MiDaS's depth is relative, so only its order and proportions carry meaning.
    private static float[] ZeroToOne(float[] map)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in map)
        {
            if (!float.IsFinite(v)) continue;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        var range = max - min;
        for (var i = 0; i < map.Length; i++) map[i] = range > 0 && float.IsFinite(map[i]) ? (map[i] - min) / range : 0f;
        return map;
    }
}
