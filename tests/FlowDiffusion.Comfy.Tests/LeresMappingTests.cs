using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's LeReS-DepthMapPreprocessor through /prompt and sd-webui-controlnet's depth_leres through
/// /controlnet/detect run res101.pth from models/annotators (make_leres.py's deterministic weights in RelDepthModel's
/// published layout) and draw make_leres.py's depth maps with the remove near / background sliders (at most 1 level off but
/// for 1 in 200 pixels a level moves across a threshold); boost (LeReS++), depth_leres++ and sliders out of 0–100 are
/// refused naming the input; without the file the class is a node error naming it and the module is not offered.
/// </summary>
public sealed class LeresMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "leres-reference.json"))).RootElement;

    private static Dictionary<string, string?> Settings() => new() { ["FlowDiffusion:ModelsFolder"] = Path.GetDirectoryName(Path.GetDirectoryName(LeresWeights.Shared())) };

    [Fact]
    public async Task LeReS_DepthMapPreprocessor_draws_the_references_map_with_remove_near()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
        var c = Case(64, 33.3, 0);
        var prompt = new JsonObject
        {
            ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
            ["2"] = new JsonObject
            {
                ["class_type"] = "LeReS-DepthMapPreprocessor",
                ["inputs"] = new JsonObject { ["image"] = new JsonArray("1", 0), ["rm_nearest"] = 33.3, ["rm_background"] = 0, ["boost"] = "disable", ["resolution"] = 64 },
            },
            ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "leres" } },
        };
        AssertMap(c, await ClassMappingTests.RunForImageAsync(host, prompt), "LeReS-DepthMapPreprocessor 64, 33.3");

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/LeReS-DepthMapPreprocessor"))!["LeReS-DepthMapPreprocessor"]!;
        Assert.Equal(100, info["input"]!["optional"]!["rm_nearest"]![1]!["max"]!.GetValue<double>());
        Assert.Equal("ControlNet Preprocessors/Normal and Depth Estimators", info["category"]!.GetValue<string>());
    }

    [Fact]
    public async Task Detect_depth_leres_draws_the_references_map_with_both_sliders()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
        {
            ["controlnet_module"] = "depth_leres", ["controlnet_input_images"] = new JsonArray(Convert.ToBase64String(ImagePng())),
            ["controlnet_processor_res"] = 96, ["controlnet_threshold_a"] = 20.0, ["controlnet_threshold_b"] = 70.5,
        });
        Assert.True(status == 200, body.ToJsonString());
        AssertMap(Case(96, 20, 70.5), Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), "depth_leres 96, 20, 70.5");

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        Assert.Contains("depth_leres", modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.DoesNotContain("depth_leres++", modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
        var sliders = modules["module_detail"]!["depth_leres"]!["sliders"]!.AsArray();
        Assert.Equal(["Resolution", "Remove Near %", "Remove Background %"], sliders.Select(s => s!["name"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("\"boost\": \"enable\"", "boost", "latest_net_G.pth")]
    [InlineData("\"rm_nearest\": 100.5", "rm_nearest", "100")]
    [InlineData("\"rm_background\": -0.5", "rm_background", "0")]
    public async Task Boost_and_sliders_out_of_range_are_node_errors_naming_the_input(string input, string field, string message)
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
        var (status, body) = await host.PostPromptAsync(Prompts.Parse($$"""
            {
              "1": { "class_type": "LoadImage", "inputs": { "image": "{{name}}" } },
              "2": { "class_type": "LeReS-DepthMapPreprocessor", "inputs": { "image": ["1", 0], {{input}} } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["2", 0], "filename_prefix": "leres" } }
            }
            """));
        Assert.True(status == 400, body.ToJsonString());
        var error = body["node_errors"]!["2"]!["errors"]![0]!;
        Assert.Equal(field, error["extra_info"]!["input_name"]!.GetValue<string>());
        Assert.Contains(message, error["details"]!.GetValue<string>());
    }

    [Fact]
    public async Task Depth_leres_plus_plus_is_refused_naming_the_module_and_boost()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var unit = new JsonObject { ["enabled"] = true, ["module"] = "depth_leres++", ["model"] = "control_v11f1p_sd15_depth", ["image"] = Convert.ToBase64String(ImagePng()) };
        var (code, refused) = await A1111Client.PostAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = "a cat", ["alwayson_scripts"] = new JsonObject { ["controlnet"] = new JsonObject { ["args"] = new JsonArray(unit) } },
        });
        Assert.True(code == 422 && refused["field"]?.GetValue<string>() == "alwayson_scripts.controlnet.args[0].module", refused.ToJsonString());
        Assert.Contains("'depth_leres++'", refused["detail"]!.GetValue<string>());
        Assert.Contains("latest_net_G.pth", refused["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Without_res101_pth_the_class_is_a_node_error_naming_it_and_the_module_is_not_offered()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-leres-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(empty, RepositoryRoot.Path, empty)), m => m.Name == "depth_leres");
            Assert.Contains(A1111ControlNetModules.Sorted(new ComfyFolders(LeresWeights.ModelsFolder, RepositoryRoot.Path, empty)), m => m.Name == "depth_leres");
            await AnnotatorAbsence.AssertRefusedAsync(empty, "LeReS-DepthMapPreprocessor", "", LeresWeights.FileName, "depth_leres", ImagePng());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    private static JsonElement Case(int resolution, double near, double background) => Oracle.GetProperty("cases").EnumerateArray().Single(c =>
        c.GetProperty("resolution").GetInt32() == resolution && c.GetProperty("remove_near").GetDouble() == near && c.GetProperty("remove_background").GetDouble() == background);

    // The PNG against the reference's grey levels: its size, grey, at most 1 level off but for 1 in 200 pixels.
    private static void AssertMap(JsonElement c, byte[] png, string label)
    {
        var expected = c.GetProperty("depth").GetBytesFromBase64();
        var got = ClassMappingTests.Pixels(png);
        Assert.True(got.Length == 3 * expected.Length, $"{label}: {got.Length} values, {3 * expected.Length} expected ({c.GetProperty("width")}×{c.GetProperty("height")})");
        int wrong = 0, worst = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(got[3 * i] == got[3 * i + 1] && got[3 * i] == got[3 * i + 2], $"{label}: pixel {i} is not grey");
            var difference = Math.Abs(got[3 * i] - expected[i]);
            if (difference > 1) wrong++;
            worst = Math.Max(worst, difference);
        }

        Assert.True(wrong <= expected.Length / 200, $"{label}: {wrong} of {expected.Length} pixels differ by more than one level, by up to {worst}");
    }

    private static byte[] ImagePng() => SoftEdgeReferences.ImagePng(Oracle);
}
