using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.ClassMappingTests;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>comfyui_controlnet_aux's DWPreprocessor converts onto image.pose with DWPose's ONNX files from models/annotators.</summary>
public sealed class PoseMappingTests : IDisposable
{
    private readonly string _models = Path.Combine(Path.GetTempPath(), "fd-comfy-pose-" + Guid.NewGuid().ToString("N"));

    public PoseMappingTests()
    {
        Directory.CreateDirectory(Path.Combine(_models, "annotators"));
        foreach (var name in new[] { "yolox_l.onnx", "dw-ll_ucoco_384.onnx", "dw-ll_ucoco_384_bs5.torchscript.pt" })
            File.WriteAllBytes(Path.Combine(_models, "annotators", name), [0]);
    }

    public void Dispose() => Directory.Delete(_models, recursive: true);

    [Fact]
    public void DWPreprocessor_becomes_image_pose_with_its_files_and_switches()
    {
        var conversion = ApiPromptConverter.Convert(Prompt("dw-ll_ucoco_384.onnx"), Folders(), requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var pose = conversion.Workflow!.Node(ApiPromptConverter.NodeId("40"))!;
        Assert.Equal(("image.pose", ApiPromptConverter.NodeId("31")), (pose.Type, pose.Edge("image")!.SourceNode));
        Assert.EndsWith(Path.Combine("annotators", "yolox_l.onnx"), Literal<string>(pose, "detector"));
        Assert.EndsWith(Path.Combine("annotators", "dw-ll_ucoco_384.onnx"), Literal<string>(pose, "model"));
        Assert.Equal((true, false, true), (Literal<bool>(pose, "body"), Literal<bool>(pose, "hands"), Literal<bool>(pose, "face")));
        Assert.Contains(conversion.Warnings, w => w.Contains("resolution", StringComparison.Ordinal) && w.Contains("40", StringComparison.Ordinal));
        var save = conversion.Workflow.Node(ApiPromptConverter.NodeId("9"))!;
        Assert.Equal(pose.Id, save.Edge("images")!.SourceNode);
    }

    [Fact]
    public void A_torchscript_pose_estimator_is_a_node_error_naming_the_input()
    {
        var conversion = ApiPromptConverter.Convert(Prompt("dw-ll_ucoco_384_bs5.torchscript.pt"), Folders(), requireFiles: false);

        var (type, errors) = conversion.NodeErrors["40"];
        Assert.Equal("DWPreprocessor", type);
        var error = Assert.Single(errors);
        Assert.Equal("pose_estimator", error.InputName);
        Assert.Contains("ONNX", error.Details, StringComparison.Ordinal);
    }

    private ComfyFolders Folders() => new(_models, RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

    private static T Literal<T>(WorkflowNode node, string parameter) => (T)((LiteralValue)node.Parameter(parameter)!.Value).Value!;

    private static JsonObject Prompt(string estimator) => new()
    {
        ["31"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = "photo.png" } },
        ["40"] = new JsonObject { ["class_type"] = "DWPreprocessor", ["inputs"] = new JsonObject
        {
            ["image"] = Link("31", 0), ["detect_hand"] = "disable", ["detect_body"] = "enable", ["detect_face"] = "enable", ["resolution"] = 512,
            ["bbox_detector"] = "yolox_l.onnx", ["pose_estimator"] = estimator, ["scale_stick_for_xinsr_cn"] = "disable",
        } },
        ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = Link("40", 0), ["filename_prefix"] = "pose" } },
    };
}
