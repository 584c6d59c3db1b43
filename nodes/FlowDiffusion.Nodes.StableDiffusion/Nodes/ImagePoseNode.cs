using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Imaging.Preprocessors.Pose;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>An OpenPose-style pose image from DWPose's ONNX models (a YOLOX person detector and an RTMPose whole-body model), as a control image.</summary>
[Node("image.pose", "1.0.0", Category = "image/preprocessors", Title = "Pose (DWPose)",
    Description = "Finds people with a YOLOX detector and their 133 whole-body keypoints with an RTMPose SimCC model (DWPose's ONNX files in models/annotators), and draws them as the openpose ControlNet's annotator does: OpenPose's 18-point skeleton in its standard colours on black, optionally hands and face, at the image's size.")]
public sealed class ImagePoseNode : INode
{
    /// <summary>At most this many people are drawn per image (the highest-scored), bounding the work per image.</summary>
    public const int MaxPeople = 64;

    /// <summary>The images.</summary>
    [Input(Description = "The images to find people in.")]
    public Image? Image { get; set; }

    /// <summary>The person detector.</summary>
    [Parameter(Description = "The YOLOX person detector (.onnx: one input [1, 3, h, w], one output [1, anchors, 5 + classes]; DWPose's yolox_l.onnx), relative to the working folder.")]
    public string Detector { get; set; } = "models/annotators/yolox_l.onnx";

    /// <summary>The pose model.</summary>
    [Parameter(Description = "The RTMPose whole-body model (.onnx: one input [1, 3, h, w], outputs simcc_x [1, 133, 2w] and simcc_y [1, 133, 2h]; DWPose's dw-ll_ucoco_384.onnx), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/dw-ll_ucoco_384.onnx";

    /// <summary>Whether to draw bodies.</summary>
    [Parameter(Description = "Draw the body skeleton (OpenPose's 18 points and 17 limbs).")]
    public bool Body { get; set; } = true;

    /// <summary>Whether to draw hands.</summary>
    [Parameter(Description = "Draw the hands (21 points each).")]
    public bool Hands { get; set; } = true;

    /// <summary>Whether to draw faces.</summary>
    [Parameter(Description = "Draw the face (68 points and the eyes).")]
    public bool Face { get; set; } = true;

    /// <summary>The detector's input size when the export leaves it open.</summary>
    [Parameter(Description = "The side of the square the image is letterboxed into for the detector (ignored when the export fixes its input size, as yolox_l.onnx does at 640).", Min = 64, Max = 2048, Step = 32)]
    public int Resolution { get; set; } = 640;

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The pose image.</summary>
    [Output(Description = "The pose image: the skeletons on black, RGB at the image's size.")]
    public Image? Pose { get; set; }

    // When a pose export leaves its input open: RTMPose's 384 × 288 (height × width).
    private const int DefaultPoseHeight = 384, DefaultPoseWidth = 288;

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var options = OnnxSessionOptions.Parse(Provider, "");
        var sessions = ModelLibrary.Of(context).Sessions;
        var detectorPath = ModelFile(context, "detector", Detector, "the YOLOX person detector (yolox_l.onnx)");
        var posePath = ModelFile(context, "model", Model, "the DWPose whole-body model (dw-ll_ucoco_384.onnx)");
        var detector = context.Resources.GetOrAdd($"pose-detector|{detectorPath}|{options.Describe()}", () => PersonDetectorNetwork.Open(sessions, new OnnxModelSource(detectorPath, options)));
        var pose = context.Resources.GetOrAdd($"pose-model|{posePath}|{options.Describe()}", () => SimccPoseNetwork.Open(sessions, new OnnxModelSource(posePath, options)));
        int detectorHeight = detector.FixedHeight ?? Resolution, detectorWidth = detector.FixedWidth ?? Resolution;
        int poseHeight = pose.FixedHeight ?? DefaultPoseHeight, poseWidth = pose.FixedWidth ?? DefaultPoseWidth;

        var image = Image!;
        var plane = image.Height * image.Width;
        var pixels = new float[image.Batch * 3 * plane];
        for (var b = 0; b < image.Batch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var item = image.PixelsOf(b);
            var (letterboxed, ratio) = DetectorLetterbox.Fit(item, image.Height, image.Width, detectorHeight, detectorWidth);
            var (predictions, anchors, values) = detector.Run(letterboxed, detectorHeight, detectorWidth, cancellationToken);
            var strides = YoloxDetections.Strides(anchors, detectorHeight, detectorWidth)
                ?? throw new ModelMismatchException(detector.ModelPath, $"The person detector '{detector.ModelPath}' returned {anchors} anchors for a {detectorWidth}×{detectorHeight} input; "
                    + "a YOLOX export gives one per cell of its stride 8, 16 and 32 grids (8400 at 640×640).");
            var people = new List<OpenPoseKeypoints>();
            foreach (var box in YoloxDetections.People(predictions, values, strides, detectorHeight, detectorWidth, ratio, MaxPeople))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var crop = PoseCrop.Around(box, poseWidth, poseHeight);
                var (simccX, simccY, keypoints, binsX, binsY) = pose.Run(crop.Sample(item, image.Height, image.Width), poseHeight, poseWidth, cancellationToken);
                var decoded = SimccDecoding.Decode(simccX, simccY, keypoints, (float)binsX / poseWidth, (float)binsY / poseHeight);
                var mapped = decoded.Select(k => crop.ToImage(k.X, k.Y) is var (x, y) ? new PoseKeypoint(x, y, k.Score) : k).ToArray();
                people.Add(OpenPoseKeypoints.FromCocoWholeBody(mapped));
            }
            OpenPoseCanvas.Draw(people, image.Height, image.Width, Body, Hands, Face).CopyTo(pixels.AsSpan(b * 3 * plane, 3 * plane));
            context.ReportProgress(NodeProgress.OfSteps(b + 1, image.Batch, $"image {b + 1} of {image.Batch}: {people.Count} {(people.Count == 1 ? "person" : "people")}"));
        }
        Pose = new Image(image.Batch, image.Height, image.Width, pixels);
        return Task.CompletedTask;
    }

    private static string ModelFile(INodeContext context, string parameter, string value, string what)
    {
        var path = PathResolver.Resolve(context, value, parameter);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{parameter}: '{value}' not found (looked at {path}); put {what} from DWPose (ComfyUI's controlnet_aux downloads them) in models/annotators.", path);
        if (!path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{parameter}: '{value}' is not an ONNX file; image.pose runs DWPose's ONNX exports from models/annotators");
        return path;
    }
}
