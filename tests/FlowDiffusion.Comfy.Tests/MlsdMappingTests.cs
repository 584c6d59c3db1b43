using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's M-LSDPreprocessor through /prompt and sd-webui-controlnet's mlsd through /controlnet/detect run
/// mlsd_large_512_fp32.pth from models/annotators (make_mlsd.py's deterministic weights in the published layout) and draw
/// make_mlsd.py's line maps to within 2 pixels; the thresholds reach the node; without the file the class is a node error
/// naming it and the module is not offered.
/// </summary>
public sealed class MlsdMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "mlsd-reference.json"))).RootElement;

    private static string Models => Path.GetDirectoryName(Path.GetDirectoryName(MlsdWeights.Shared()))!;

    [Fact]
    public async Task M_LSDPreprocessor_draws_the_references_lines_with_its_thresholds()
    {
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = Models });
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", SoftEdgeReferences.ImagePng(Oracle));
        foreach (var c in Oracle.GetProperty("cases").EnumerateArray())
        {
            var prompt = new JsonObject
            {
                ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
                ["2"] = new JsonObject
                {
                    ["class_type"] = "M-LSDPreprocessor",
                    ["inputs"] = new JsonObject
                    {
                        ["image"] = new JsonArray("1", 0), ["score_threshold"] = c.GetProperty("score_threshold").GetDouble(),
                        ["dist_threshold"] = c.GetProperty("distance_threshold").GetDouble(), ["resolution"] = c.GetProperty("resolution").GetInt32(),
                    },
                },
                ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "mlsd" } },
            };
            AssertLines(c, await ClassMappingTests.RunForImageAsync(host, prompt), $"M-LSDPreprocessor {c.GetProperty("resolution")} {c.GetProperty("score_threshold")} {c.GetProperty("distance_threshold")}");
        }

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/M-LSDPreprocessor"))!["M-LSDPreprocessor"]!["input"]!["optional"]!;
        Assert.Equal((0.1, 0.01, 20.0), (info["dist_threshold"]![1]!["default"]!.GetValue<double>(), info["dist_threshold"]![1]!["min"]!.GetValue<double>(), info["dist_threshold"]![1]!["max"]!.GetValue<double>()));
    }

    [Fact]
    public async Task Detect_mlsd_passes_threshold_a_and_b_and_draws_the_references_lines()
    {
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = Models });
        var image = Convert.ToBase64String(SoftEdgeReferences.ImagePng(Oracle));
        foreach (var c in Oracle.GetProperty("cases").EnumerateArray().Where(c => c.GetProperty("resolution").GetInt32() == 128))
        {
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = "mlsd", ["controlnet_input_images"] = new JsonArray(image), ["controlnet_processor_res"] = 128,
                ["controlnet_threshold_a"] = c.GetProperty("score_threshold").GetDouble(), ["controlnet_threshold_b"] = c.GetProperty("distance_threshold").GetDouble(),
            });
            Assert.True(status == 200, body.ToJsonString());
            AssertLines(c, Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), $"mlsd {c.GetProperty("score_threshold")} {c.GetProperty("distance_threshold")}");
        }

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        var sliders = modules["module_detail"]!["mlsd"]!["sliders"]!.AsArray();
        Assert.Equal("""{"name":"MLSD Value Threshold","value":0.1,"min":0.01,"max":2,"step":0.01}""", sliders[1]!.ToJsonString());
        Assert.Equal("""{"name":"MLSD Distance Threshold","value":0.1,"min":0.01,"max":20,"step":0.01}""", sliders[2]!.ToJsonString());
        var types = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/control_types"))!;
        Assert.Equal("mlsd", types["control_types"]!["MLSD"]!["default_option"]!.GetValue<string>());
    }

    [Fact]
    public async Task Without_the_file_the_class_is_a_node_error_naming_it_and_mlsd_is_not_offered()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-mlsd-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(empty, RepositoryRoot.Path, empty)), m => m.Name == "mlsd");
            Assert.Contains(A1111ControlNetModules.Sorted(new ComfyFolders(Models, RepositoryRoot.Path, empty)), m => m.Name == "mlsd");
            await AnnotatorAbsence.AssertRefusedAsync(empty, "M-LSDPreprocessor", "", "mlsd_large_512_fp32.pth", "mlsd", SoftEdgeReferences.ImagePng(Oracle));
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task A_threshold_outside_auxs_range_is_a_node_error_naming_it()
    {
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = Models });
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", SoftEdgeReferences.ImagePng(Oracle));
        var prompt = Prompts.Parse($$"""
            {
              "1": { "class_type": "LoadImage", "inputs": { "image": "{{name}}" } },
              "2": { "class_type": "M-LSDPreprocessor", "inputs": { "image": ["1", 0], "dist_threshold": 25.0 } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["2", 0], "filename_prefix": "mlsd" } }
            }
            """);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Contains("dist_threshold", body["node_errors"]!["2"]!.ToJsonString());
    }

    // White lines on black within 2 pixels of the reference.
    private static void AssertLines(JsonElement c, byte[] png, string label)
    {
        var expected = c.GetProperty("output").GetBytesFromBase64();
        var got = ClassMappingTests.Pixels(png);
        Assert.Equal(3 * expected.Length, got.Length);
        var wrong = Enumerable.Range(0, expected.Length).Count(p => Enumerable.Range(0, 3).Any(ch => got[3 * p + ch] != expected[p]));
        Assert.True(wrong <= 2, $"{label}: {wrong} of {expected.Length} pixels differ");
    }
}
