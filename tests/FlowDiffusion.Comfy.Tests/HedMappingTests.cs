using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's HEDPreprocessor through /prompt and sd-webui-controlnet's softedge_hed and softedge_hedsafe
/// through /controlnet/detect run ControlNetHED.pth from models/annotators (make_hed.py's deterministic weights in the
/// published layout) and draw make_hed.py's maps within one level (at most 1 pixel in 1000); without the file the class is
/// a node error naming it and the modules are not offered.
/// </summary>
public sealed class HedMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "hed-reference.json"))).RootElement;

    private static Dictionary<string, string?> Settings() => new() { ["FlowDiffusion:ModelsFolder"] = Path.GetDirectoryName(Path.GetDirectoryName(HedWeights.Shared())) };

    [Fact]
    public async Task HEDPreprocessor_draws_the_references_maps()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await UploadImageAsync(host);
        foreach (var c in Oracle.GetProperty("cases").EnumerateArray())
        {
            var prompt = new JsonObject
            {
                ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
                ["2"] = new JsonObject
                {
                    ["class_type"] = "HEDPreprocessor",
                    ["inputs"] = new JsonObject { ["image"] = new JsonArray("1", 0), ["safe"] = c.GetProperty("safe").GetBoolean() ? "enable" : "disable", ["resolution"] = c.GetProperty("resolution").GetInt32() },
                },
                ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "hed" } },
            };
            var png = await ClassMappingTests.RunForImageAsync(host, prompt);
            SoftEdgeReferences.AssertMap(c, png, $"HEDPreprocessor resolution {c.GetProperty("resolution")} safe {c.GetProperty("safe")}");
        }
    }

    [Fact]
    public async Task Detect_softedge_hed_and_hedsafe_draw_the_references_maps_at_the_processor_resolution()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var image = Convert.ToBase64String(ImagePng());
        foreach (var (module, safe) in new[] { ("softedge_hed", false), ("softedge_hedsafe", true) })
        {
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = module, ["controlnet_input_images"] = new JsonArray(image), ["controlnet_processor_res"] = 64,
            });
            Assert.True(status == 200, body.ToJsonString());
            var c = Oracle.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("resolution").GetInt32() == 64 && c.GetProperty("safe").GetBoolean() == safe);
            SoftEdgeReferences.AssertMap(c, Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), module);
        }

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        Assert.Contains("softedge_hed", modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("""[{"name":"Resolution","value":512,"min":64,"max":2048,"step":8}]""", modules["module_detail"]!["softedge_hedsafe"]!["sliders"]!.ToJsonString());
    }

    [Fact]
    public async Task FakeScribblePreprocessor_draws_the_references_scribbles_on_the_padded_map()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await UploadImageAsync(host);
        foreach (var c in Oracle.GetProperty("scribble").EnumerateArray().Where(c => c.GetProperty("scribble").GetString() == "before_crop"))
        {
            var prompt = new JsonObject
            {
                ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
                ["2"] = new JsonObject
                {
                    ["class_type"] = "FakeScribblePreprocessor",
                    ["inputs"] = new JsonObject { ["image"] = new JsonArray("1", 0), ["safe"] = c.GetProperty("safe").GetBoolean() ? "enable" : "disable", ["resolution"] = c.GetProperty("resolution").GetInt32() },
                },
                ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "scribble" } },
            };
            var png = await ClassMappingTests.RunForImageAsync(host, prompt);
            AssertScribble(c, png, $"FakeScribblePreprocessor resolution {c.GetProperty("resolution")} safe {c.GetProperty("safe")}");
        }

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/FakeScribblePreprocessor"))!["FakeScribblePreprocessor"]!;
        Assert.Equal("""["enable","disable"]""", info["input"]!["optional"]!["safe"]![0]!.ToJsonString());
        Assert.Equal(512, info["input"]!["optional"]!["resolution"]![1]!["default"]!.GetValue<int>());
    }

    [Fact]
    public async Task Detect_scribble_hed_draws_the_references_scribble_on_the_cropped_plain_map()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
        {
            ["controlnet_module"] = "scribble_hed", ["controlnet_input_images"] = new JsonArray(Convert.ToBase64String(ImagePng())), ["controlnet_processor_res"] = 64,
        });
        Assert.True(status == 200, body.ToJsonString());
        var c = Oracle.GetProperty("scribble").EnumerateArray().Single(c => c.GetProperty("scribble").GetString() == "after_crop");
        AssertScribble(c, Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), "scribble_hed");

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        Assert.Equal("""[{"name":"Resolution","value":512,"min":64,"max":2048,"step":8}]""", modules["module_detail"]!["scribble_hed"]!["sliders"]!.ToJsonString());
        var types = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/control_types"))!;
        Assert.Contains("scribble_hed", types["control_types"]!["Scribble"]!["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
    }

    [Fact]
    public async Task Without_ControlNetHED_pth_the_class_is_a_node_error_naming_it_and_the_modules_are_not_offered()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-hed-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(empty, RepositoryRoot.Path, empty)), m => m.Name.StartsWith("softedge_hed", StringComparison.Ordinal));
            Assert.Contains(A1111ControlNetModules.Sorted(new ComfyFolders(Path.GetDirectoryName(Path.GetDirectoryName(HedWeights.Shared()))!, RepositoryRoot.Path, empty)),
                m => m.Name == "softedge_hedsafe");
            await AnnotatorAbsence.AssertRefusedAsync(empty, "HEDPreprocessor", "", "ControlNetHED.pth", "softedge_hed", ImagePng());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void Ui_workflow_widgets_land_on_safe_and_resolution_in_auxs_order()
    {
        JsonObject Node(int id, string type, JsonArray widgets, params (string Name, int Link)[] inputs) => new()
        {
            ["id"] = id, ["type"] = type, ["pos"] = new JsonArray(0, 0), ["mode"] = 0, ["widgets_values"] = widgets,
            ["inputs"] = new JsonArray(inputs.Select(i => (JsonNode)new JsonObject { ["name"] = i.Name, ["link"] = i.Link }).ToArray()),
        };
        var ui = new JsonObject
        {
            ["last_node_id"] = 3, ["last_link_id"] = 2, ["version"] = 0.4,
            ["nodes"] = new JsonArray(Node(1, "LoadImage", ["strokes.png", "image"]), Node(2, "HEDPreprocessor", ["disable", 320], ("image", 1)), Node(3, "SaveImage", ["hed"], ("images", 2))),
            ["links"] = new JsonArray(new JsonArray(1, 1, 0, 2, 0, "IMAGE"), new JsonArray(2, 2, 0, 3, 0, "IMAGE")),
        };
        var folders = new ComfyFolders(Path.GetDirectoryName(Path.GetDirectoryName(HedWeights.Shared()))!, RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

        var (conversion, problems) = ComfyWorkflowImport.Import(System.Text.Encoding.UTF8.GetBytes(ui.ToJsonString()), "hed-ui", folders);

        Assert.True(conversion?.Workflow is not null, string.Join("; ", problems));
        var hed = conversion!.Workflow!.Node("n2")!;
        object? Parameter(string name) => ((FlowDiffusion.Engine.Workflows.LiteralValue)hed.Parameter(name)!.Value).Value;
        Assert.Equal(("image.hed", false, 320L), (hed.Type, (bool)Parameter("safe")!, (long)Parameter("resolution")!));
        Assert.EndsWith(Path.Combine("annotators", "ControlNetHED.pth"), (string)Parameter("model")!);
    }

    // A scribble: within 1 pixel in 1000 of the reference, and far from the plain map of the same resolution and safe mode.
    private static void AssertScribble(JsonElement c, byte[] png, string label)
    {
        var expected = c.GetProperty("output").GetBytesFromBase64();
        var got = ClassMappingTests.Pixels(png);
        Assert.Equal(3 * expected.Length, got.Length);
        int Wrong(byte[] reference) => Enumerable.Range(0, reference.Length).Count(p => Enumerable.Range(0, 3).Any(ch => got[3 * p + ch] != reference[p]));
        var wrong = Wrong(expected);
        Assert.True(wrong <= expected.Length / 1000, $"{label}: {wrong} of {expected.Length} pixels differ");
        var plain = Oracle.GetProperty("cases").EnumerateArray().Single(p => p.GetProperty("resolution").GetInt32() == c.GetProperty("resolution").GetInt32()
            && p.GetProperty("safe").GetBoolean() == c.GetProperty("safe").GetBoolean()).GetProperty("output").GetBytesFromBase64();
        Assert.True(Wrong(plain) > expected.Length / 10, $"{label}: the plain HED map, not a scribble");
    }

    private static byte[] ImagePng() => SoftEdgeReferences.ImagePng(Oracle);

    private static Task<string> UploadImageAsync(ComfyHost host) => ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
}
