using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's TEEDPreprocessor through /prompt and sd-webui-controlnet's softedge_teed through
/// /controlnet/detect run 7_model.pth from models/annotators (make_teed.py's deterministic weights in TED's layout) and
/// draw make_teed.py's maps within one level or one safe step (at most 1 pixel in 1000); without the file the class is a
/// node error naming it and the module is not offered.
/// </summary>
public sealed class TeedMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "teed-reference.json"))).RootElement;

    private static Dictionary<string, string?> Settings() => new() { ["FlowDiffusion:ModelsFolder"] = Path.GetDirectoryName(Path.GetDirectoryName(TeedWeights.Shared())) };

    [Fact]
    public async Task TEEDPreprocessor_draws_the_references_maps_with_2_safe_steps_by_default()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
        foreach (var c in Oracle.GetProperty("cases").EnumerateArray().Where(c => c.GetProperty("resolution").GetInt32() == 64))
        {
            var steps = c.GetProperty("safe_steps").GetInt32();
            var inputs = new JsonObject { ["image"] = new JsonArray("1", 0), ["resolution"] = 64 };
            if (steps != 2) inputs["safe_steps"] = steps; // aux's default is 2
            var prompt = new JsonObject
            {
                ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
                ["2"] = new JsonObject { ["class_type"] = "TEEDPreprocessor", ["inputs"] = inputs },
                ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "teed" } },
            };
            SoftEdgeReferences.AssertMap(c, await ClassMappingTests.RunForImageAsync(host, prompt), $"TEEDPreprocessor safe_steps {steps}");
        }

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/TEEDPreprocessor"))!["TEEDPreprocessor"]!;
        Assert.Equal(2, info["input"]!["optional"]!["safe_steps"]![1]!["default"]!.GetValue<int>());
        Assert.Equal(10, info["input"]!["optional"]!["safe_steps"]![1]!["max"]!.GetValue<int>());
        Assert.Equal(512, info["input"]!["optional"]!["resolution"]![1]!["default"]!.GetValue<int>());
    }

    [Fact]
    public async Task Detect_softedge_teed_draws_the_references_maps_with_its_safe_steps_slider()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var image = Convert.ToBase64String(ImagePng());
        foreach (var c in Oracle.GetProperty("cases").EnumerateArray())
        {
            var steps = c.GetProperty("safe_steps").GetInt32();
            var resolution = c.GetProperty("resolution").GetInt32();
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = "softedge_teed", ["controlnet_input_images"] = new JsonArray(image),
                ["controlnet_processor_res"] = resolution, ["controlnet_threshold_a"] = steps,
            });
            Assert.True(status == 200, body.ToJsonString());
            SoftEdgeReferences.AssertMap(c, Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), $"softedge_teed {resolution} {steps}");
        }

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        Assert.Contains("softedge_teed", modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("""[{"name":"Resolution","value":512,"min":64,"max":2048,"step":8},{"name":"Safe Steps","value":2,"min":0,"max":10,"step":1}]""",
            modules["module_detail"]!["softedge_teed"]!["sliders"]!.ToJsonString());
    }

    [Fact]
    public async Task Without_7_model_pth_the_class_is_a_node_error_naming_it_and_the_module_is_not_offered()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-teed-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(empty, RepositoryRoot.Path, empty)), m => m.Name == "softedge_teed");
            Assert.Contains(A1111ControlNetModules.Sorted(new ComfyFolders(TeedWeights.ModelsFolder, RepositoryRoot.Path, empty)), m => m.Name == "softedge_teed");
            await AnnotatorAbsence.AssertRefusedAsync(empty, "TEEDPreprocessor", "", "7_model.pth", "softedge_teed", ImagePng());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task Safe_steps_above_10_is_a_node_error_naming_the_input()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
        var prompt = Prompts.Parse($$"""
            {
              "1": { "class_type": "LoadImage", "inputs": { "image": "{{name}}" } },
              "2": { "class_type": "TEEDPreprocessor", "inputs": { "image": ["1", 0], "safe_steps": 11, "resolution": 64 } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["2", 0], "filename_prefix": "teed" } }
            }
            """);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Contains("safe_steps", body["node_errors"]!["2"]!.ToJsonString());
    }

    private static byte[] ImagePng() => SoftEdgeReferences.ImagePng(Oracle);
}
