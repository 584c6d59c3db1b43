using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Imaging.Preprocessors.Pose;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The ControlNet annotators' classic OpenPose skeletons from <c>body_pose_model.pth</c> (hands from <c>hand_pose_model.pth</c>, faces from <c>facenet.pth</c>), converted to ONNX once and cached.</summary>
[Node("image.openpose", "1.1.0", Category = "image/preprocessors", Title = "OpenPose (body_pose_model.pth)",
    Description = "comfyui_controlnet_aux's OpenposePreprocessor and sd-webui-controlnet's openpose with detect_hand and detect_face off: the 8-bit image scaled so its short side is the resolution and padded to multiples of 64, then CMU's OpenPose body network of body_pose_model.pth (read from the .pth, converted to ONNX on first use) at half of 368 px high, its heatmaps and part affinity fields decoded into people as the annotator does (σ 3 peaks above 0.1, 10-point limb scores, people of at least 4 parts), drawn as OpenPose's 18-point skeleton on black. With hands on (aux's detect_hand, the extension's openpose_hand), hand_pose_model.pth's hand network on each arm's box as the annotator places it (at most 32 boxes per image), at 4 scales, its 21 points drawn as the annotator does. With faces on (aux's detect_face, the extension's openpose_face), facenet.pth's face network on each head's box as faceDetect places it (at most 32 per image) at 384 px, every map's first maximum above 0.05 after aligned-corner bilinear enlargement drawn as a white dot of radius 3.")]
public sealed class ImageOpenPoseNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to find people in.")]
    public Image? Image { get; set; }

    /// <summary>The body weights.</summary>
    [Parameter(Description = "The OpenPose body network's weights (lllyasviel's body_pose_model.pth, as comfyui_controlnet_aux and sd-webui-controlnet download it; .pth or .safetensors), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/body_pose_model.pth";

    /// <summary>Whether to draw bodies.</summary>
    [Parameter(Description = "Draw the body skeletons (off: a black image, as aux's detect_body disable).")]
    public bool Body { get; set; } = true;

    /// <summary>Whether to draw hands.</summary>
    [Parameter(Description = "Find and draw the hands with hand_model (aux's detect_hand; the bodies are found even with body off, as the annotator does).")]
    public bool Hands { get; set; }

    /// <summary>The hand weights.</summary>
    [Parameter(Description = "The OpenPose hand network's weights (lllyasviel's hand_pose_model.pth; .pth or .safetensors), relative to the working folder; read only with hands on.")]
    public string HandModel { get; set; } = "models/annotators/hand_pose_model.pth";

    /// <summary>Whether to draw faces.</summary>
    [Parameter(Description = "Find and draw the faces with face_model (aux's detect_face; the bodies are found even with body off, as the annotator does).")]
    public bool Faces { get; set; }

    /// <summary>The face weights.</summary>
    [Parameter(Description = "The OpenPose face network's weights (lllyasviel's facenet.pth; .pth or .safetensors), relative to the working folder; read only with faces on.")]
    public string FaceModel { get; set; } = "models/annotators/facenet.pth";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution, the extension's Preprocessor Resolution); the pose image has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>Thicker limbs for xinsir's ControlNet.</summary>
    [Parameter(Description = "aux's scale_stick_for_xinsr_cn: limbs min(2 + side // 1000, 7) times as wide when the padded image's longer side is 500 or more.")]
    public bool XinsrSticks { get; set; }

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The pose image.</summary>
    [Output(Description = "The skeletons on black, RGB, the short side at the resolution.")]
    public Image? Pose { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        AnnotatorResolution.Check(context, image, Resolution);
        var network = AnnotatorGraphs.OpenNetwork(context, Model, Provider, "openpose_body",
            "the OpenPose body annotator body_pose_model.pth (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareOpenPoseBody(weights, AnnotatorModelCache.DefaultRoot, converting, limits), 2, cancellationToken);
        var hands = Hands ? AnnotatorGraphs.OpenNetwork(context, HandModel, Provider, "openpose_hand",
            "the OpenPose hand annotator hand_pose_model.pth (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareOpenPoseHand(weights, AnnotatorModelCache.DefaultRoot, converting, limits), 1, cancellationToken, "hand_model") : null;
        var faces = Faces ? AnnotatorGraphs.OpenNetwork(context, FaceModel, Provider, "openpose_face",
            "the OpenPose face annotator facenet.pth (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareOpenPoseFace(weights, AnnotatorModelCache.DefaultRoot, converting, limits), 1, cancellationToken, "face_model") : null;
        Pose = ControlImages.PerItemBytes(image, item => Annotate(item, network, hands, faces, cancellationToken), cancellationToken);
        return Task.CompletedTask;
    }

    private Rgb8Image Annotate(Rgb8Image item, AnnotatorMapNetwork network, AnnotatorMapNetwork? hands, AnnotatorMapNetwork? faces, CancellationToken cancellationToken)
    {
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(item, Resolution);
        IReadOnlyList<OpenPoseKeypoints> people = [];
        if (Body || hands is not null || faces is not null)
        {
            people = OpenPoseBody.Estimate(padded, (pixels, h, w) => Maps(network, pixels, h, w, cancellationToken), cancellationToken).People();
        }

        if (hands is not null)
        {
            people = OpenPoseHand.Detect(people, padded,
                (pixels, side) => hands.RunPlanes(pixels, side, side, OpenPoseHandCheckpoint.HeatmapChannels, OpenPoseHand.Stride, cancellationToken), cancellationToken);
        }

        if (faces is not null)
        {
            people = OpenPoseFace.Detect(people, padded,
                pixels => faces.RunPlanes(pixels, OpenPoseFace.Side, OpenPoseFace.Side, OpenPoseFaceCheckpoint.HeatmapChannels, OpenPoseFace.Stride, cancellationToken), cancellationToken);
        }

        var stickScale = XinsrSticks ? OpenPoseCanvas.XinsrStickScale(padded.Height, padded.Width) : 1;
        return OpenPoseBody.Draw(people, padded.Height, padded.Width, stickScale, Body, hands is not null, faces is not null).Crop(height, width);
    }

    private static (float[] Pafs, float[] Heatmaps) Maps(AnnotatorMapNetwork network, float[] pixels, int height, int width, CancellationToken cancellationToken)
    {
        var outputs = network.RunAll(pixels, height, width, cancellationToken);
        int[] pafShape = [1, OpenPoseBodyCheckpoint.PafChannels, height / OpenPoseBody.Stride, width / OpenPoseBody.Stride];
        int[] heatShape = [1, OpenPoseBodyCheckpoint.HeatmapChannels, height / OpenPoseBody.Stride, width / OpenPoseBody.Stride];
        if (!outputs[0].Shape.SequenceEqual(pafShape) || !outputs[1].Shape.SequenceEqual(heatShape))
        {
            throw new ModelMismatchException(network.ModelPath, $"The OpenPose body graph '{network.ModelPath}' returned [{string.Join(", ", outputs[0].Shape)}] and [{string.Join(", ", outputs[1].Shape)}] "
                + $"for a {width}×{height} image; [{string.Join(", ", pafShape)}] and [{string.Join(", ", heatShape)}] expected.");
        }

        return (outputs[0].Values, outputs[1].Values);
    }
}
