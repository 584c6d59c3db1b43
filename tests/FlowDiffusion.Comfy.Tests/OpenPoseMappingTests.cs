using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's OpenposePreprocessor through /prompt and sd-webui-controlnet's openpose through
/// /controlnet/detect run body_pose_model.pth from models/annotators (make_openpose_body.py's hashed weights in the
/// published layout, and the hand and face files likewise): the same pose image at the scaled size both ways (bodies only);
/// detect_face runs through /prompt, and openpose_face, openpose_faceonly and openpose_full give its switches; detect_hand without hand_pose_model.pth and detect_face
/// without facenet.pth are node errors naming the switch; without the body file the class is a node error naming it and
/// the module is not offered; openpose_hand and the face modules are offered only with all their files.
/// </summary>
public sealed class OpenPoseMappingTests
{
    private static readonly JsonElement HedOracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "hed-reference.json"))).RootElement;

    private static string ModelsFolder => Path.GetDirectoryName(Path.GetDirectoryName(OpenPoseBodyWeights.Shared()))!;

    private static JsonObject Prompt(string image, string hand, string face) => new()
    {
        ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = image } },
        ["2"] = new JsonObject
        {
            ["class_type"] = "OpenposePreprocessor",
            ["inputs"] = new JsonObject
            {
                ["image"] = new JsonArray("1", 0), ["detect_hand"] = hand, ["detect_body"] = "enable", ["detect_face"] = face, ["resolution"] = 64,
                ["scale_stick_for_xinsr_cn"] = "disable",
            },
        },
        ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "pose" } },
    };

    [Fact]
    public async Task OpenposePreprocessor_and_detect_openpose_draw_the_same_pose_image_at_the_scaled_size()
    {
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = ModelsFolder });
        var png = SoftEdgeReferences.ImagePng(HedOracle);
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", png);
        var viaPrompt = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Prompt(name, "disable", "disable")));
        // strokes.png is 100 × 76: the short side to 64, the long one round(100 · 64 / 76) = 84.
        Assert.Equal(3 * 64 * 84, viaPrompt.Length);

        var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
        {
            ["controlnet_module"] = "openpose", ["controlnet_input_images"] = new JsonArray(Convert.ToBase64String(png)), ["controlnet_processor_res"] = 64,
        });
        Assert.True(status == 200, body.ToJsonString());
        Assert.Equal(viaPrompt, ClassMappingTests.Pixels(Convert.FromBase64String(body["images"]![0]!.GetValue<string>())));

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        Assert.Contains("openpose", modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
    }

    [Fact]
    public async Task Detect_hand_without_hand_pose_model_pth_is_a_node_error_naming_it_and_openpose_hand_is_not_offered()
    {
        var bodyOnly = Path.Combine(Path.GetTempPath(), "fd-openpose-bodyonly-" + Guid.NewGuid().ToString("N"));
        var handOnly = Path.Combine(Path.GetTempPath(), "fd-openpose-handonly-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(bodyOnly, "annotators"));
        Directory.CreateDirectory(Path.Combine(handOnly, "annotators"));
        try
        {
            File.CreateSymbolicLink(Path.Combine(bodyOnly, "annotators", "body_pose_model.pth"), OpenPoseBodyWeights.Shared());
            File.CreateSymbolicLink(Path.Combine(handOnly, "annotators", "hand_pose_model.pth"), OpenPoseHandWeights.Shared());
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(bodyOnly, RepositoryRoot.Path, bodyOnly)), m => m.Name == "openpose_hand");
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(handOnly, RepositoryRoot.Path, handOnly)), m => m.Name == "openpose_hand");
            Assert.Contains(A1111ControlNetModules.Sorted(new ComfyFolders(bodyOnly, RepositoryRoot.Path, bodyOnly)), m => m.Name == "openpose");

            await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = bodyOnly });
            var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", SoftEdgeReferences.ImagePng(HedOracle));
            var (status, body) = await host.PostPromptAsync(Prompt(name, "enable", "disable"));
            Assert.Equal(400, status);
            var error = body["node_errors"]!["2"]!["errors"]![0]!;
            Assert.Equal("detect_hand", error["extra_info"]!["input_name"]!.GetValue<string>());
            Assert.Contains("hand_pose_model.pth", error["details"]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(bodyOnly, recursive: true);
            Directory.Delete(handOnly, recursive: true);
        }
    }

    [Theory]
    [InlineData("openpose_faceonly", "disable", "disable")]
    [InlineData("openpose_face", "disable", "enable")]
    [InlineData("openpose_full", "enable", "enable")]
    public void The_face_modules_are_OpenposePreprocessor_with_detect_face_and_their_switches(string module, string hand, string body)
    {
        var prompt = new JsonObject();
        A1111ControlNetModules.Find(module)!.Run(new A1111ControlNetNodes(prompt, "u0_"), new JsonArray("1", 0), 96, 0, 0);
        var node = Assert.Single(prompt.Select(n => n.Value!.AsObject()), n => n["class_type"]!.GetValue<string>() == "OpenposePreprocessor");
        var inputs = node["inputs"]!;
        Assert.Equal(("enable", hand, body, 96), (inputs["detect_face"]!.GetValue<string>(), inputs["detect_hand"]!.GetValue<string>(),
            inputs["detect_body"]!.GetValue<string>(), inputs["resolution"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Detect_face_with_facenet_pth_runs_image_openpose_with_faces()
    {
        OpenPoseFaceWeights.Shared();
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = ModelsFolder });
        var png = SoftEdgeReferences.ImagePng(HedOracle);
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", png);
        var prompt = Prompt(name, "disable", "enable");
        prompt["2"]!["inputs"]!["detect_body"] = "disable";
        // The first run converts two .pth files to ONNX, which a loaded machine may take minutes over.
        var viaPrompt = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt, TimeSpan.FromMinutes(5)));
        Assert.Equal(3 * 64 * 84, viaPrompt.Length);
    }

    [Fact]
    public async Task Detect_face_without_facenet_pth_is_a_node_error_naming_it_and_the_face_modules_are_not_offered()
    {
        var noFace = Path.Combine(Path.GetTempPath(), "fd-openpose-noface-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(noFace, "annotators"));
        try
        {
            File.CreateSymbolicLink(Path.Combine(noFace, "annotators", "body_pose_model.pth"), OpenPoseBodyWeights.Shared());
            File.CreateSymbolicLink(Path.Combine(noFace, "annotators", "hand_pose_model.pth"), OpenPoseHandWeights.Shared());
            OpenPoseFaceWeights.Shared();
            string[] faceModules = ["openpose_face", "openpose_faceonly", "openpose_full"];
            var without = A1111ControlNetModules.Sorted(new ComfyFolders(noFace, RepositoryRoot.Path, noFace)).Select(m => m.Name).ToList();
            Assert.Contains("openpose_hand", without);
            Assert.All(faceModules, m => Assert.DoesNotContain(m, without));
            var with = A1111ControlNetModules.Sorted(new ComfyFolders(ModelsFolder, RepositoryRoot.Path, noFace)).Select(m => m.Name).ToList();
            Assert.All(faceModules, m => Assert.Contains(m, with));

            await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = noFace });
            var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", SoftEdgeReferences.ImagePng(HedOracle));
            var (status, body) = await host.PostPromptAsync(Prompt(name, "disable", "enable"));
            Assert.Equal(400, status);
            var error = body["node_errors"]!["2"]!["errors"]![0]!;
            Assert.Equal("detect_face", error["extra_info"]!["input_name"]!.GetValue<string>());
            Assert.Contains("facenet.pth", error["details"]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(noFace, recursive: true);
        }
    }

    [Fact]
    public async Task Without_body_pose_model_pth_the_class_is_a_node_error_naming_it_and_the_module_is_not_offered()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-openpose-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(empty, RepositoryRoot.Path, empty)), m => m.Name == "openpose");
            Assert.Contains(A1111ControlNetModules.Sorted(new ComfyFolders(ModelsFolder, RepositoryRoot.Path, empty)), m => m.Name == "openpose");
            await AnnotatorAbsence.AssertRefusedAsync(empty, "OpenposePreprocessor", ", \"detect_hand\": \"disable\", \"detect_face\": \"disable\"", "body_pose_model.pth", "openpose", SoftEdgeReferences.ImagePng(HedOracle));
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }
}
