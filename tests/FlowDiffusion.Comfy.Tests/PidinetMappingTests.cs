using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's PiDiNetPreprocessor through /prompt and sd-webui-controlnet's softedge_pidinet,
/// softedge_pidisafe and scribble_pidinet through /controlnet/detect run table5_pidinet.pth from models/annotators
/// (make_pidinet.py's deterministic weights in the published layout) and draw make_pidinet.py's maps within one level (at
/// most 1 pixel in 1000); without the file the class is a node error naming it and the modules are not offered.
/// </summary>
public sealed class PidinetMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "pidinet-reference.json"))).RootElement;

    private static Dictionary<string, string?> Settings() => new() { ["FlowDiffusion:ModelsFolder"] = Path.GetDirectoryName(Path.GetDirectoryName(PidinetWeights.Shared())) };

    [Fact]
    public async Task PiDiNetPreprocessor_draws_the_references_maps_safe_by_default()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
        foreach (var c in Oracle.GetProperty("cases").EnumerateArray().Where(c => c.GetProperty("resolution").GetInt32() == 64))
        {
            var safe = c.GetProperty("safe").GetBoolean();
            var inputs = new JsonObject { ["image"] = new JsonArray("1", 0), ["resolution"] = 64 };
            if (!safe) inputs["safe"] = "disable"; // aux's default is enable
            var prompt = new JsonObject
            {
                ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
                ["2"] = new JsonObject { ["class_type"] = "PiDiNetPreprocessor", ["inputs"] = inputs },
                ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "pidinet" } },
            };
            SoftEdgeReferences.AssertMap(c, await ClassMappingTests.RunForImageAsync(host, prompt), $"PiDiNetPreprocessor safe {safe}");
        }

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/PiDiNetPreprocessor"))!["PiDiNetPreprocessor"]!;
        Assert.Equal("""["enable","disable"]""", info["input"]!["optional"]!["safe"]![0]!.ToJsonString());
        Assert.Equal(512, info["input"]!["optional"]!["resolution"]![1]!["default"]!.GetValue<int>());
    }

    [Fact]
    public async Task Detect_softedge_pidinet_pidisafe_and_scribble_pidinet_draw_the_references_maps()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var image = Convert.ToBase64String(ImagePng());
        var plain = Oracle.GetProperty("cases").EnumerateArray().ToList();
        foreach (var (module, c) in new[]
        {
            ("softedge_pidinet", plain.Single(c => c.GetProperty("resolution").GetInt32() == 64 && !c.GetProperty("safe").GetBoolean())),
            ("softedge_pidisafe", plain.Single(c => c.GetProperty("resolution").GetInt32() == 64 && c.GetProperty("safe").GetBoolean())),
            ("scribble_pidinet", Oracle.GetProperty("scribble")[0]),
        })
        {
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = module, ["controlnet_input_images"] = new JsonArray(image), ["controlnet_processor_res"] = 64,
            });
            Assert.True(status == 200, body.ToJsonString());
            SoftEdgeReferences.AssertMap(c, Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), module);
        }

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        var names = modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()).ToList();
        Assert.Contains("softedge_pidinet", names);
        Assert.Equal("""[{"name":"Resolution","value":512,"min":64,"max":2048,"step":8}]""", modules["module_detail"]!["softedge_pidisafe"]!["sliders"]!.ToJsonString());
        // The extension's priorities: softedge_pidinet and scribble_pidinet (100) first, so they are their types' defaults.
        var types = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/control_types"))!["control_types"]!;
        Assert.Equal("softedge_pidinet", types["SoftEdge"]!["default_option"]!.GetValue<string>());
        Assert.Equal("scribble_pidinet", types["Scribble"]!["default_option"]!.GetValue<string>());
    }

    [Fact]
    public async Task Without_table5_pidinet_pth_the_class_is_a_node_error_naming_it_and_the_modules_are_not_offered()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-pidinet-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(empty, RepositoryRoot.Path, empty)), m => m.Name.Contains("pidi", StringComparison.Ordinal));
            Assert.Equal(4, A1111ControlNetModules.Sorted(new ComfyFolders(PidinetWeights.ModelsFolder, RepositoryRoot.Path, empty)).Count(m => m.Name.Contains("pidi", StringComparison.Ordinal)));
            await AnnotatorAbsence.AssertRefusedAsync(empty, "PiDiNetPreprocessor", "", "table5_pidinet.pth", "softedge_pidinet", ImagePng());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task A_bad_safe_value_is_a_node_error_naming_the_input()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
        var prompt = Prompts.Parse($$"""
            {
              "1": { "class_type": "LoadImage", "inputs": { "image": "{{name}}" } },
              "2": { "class_type": "PiDiNetPreprocessor", "inputs": { "image": ["1", 0], "safe": "maybe", "resolution": 64 } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["2", 0], "filename_prefix": "pidinet" } }
            }
            """);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Contains("safe", body["node_errors"]!["2"]!.ToJsonString());
    }

    private static byte[] ImagePng() => SoftEdgeReferences.ImagePng(Oracle);
}
