using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's BAE-NormalMapPreprocessor through /prompt and sd-webui-controlnet's normal_bae through
/// /controlnet/detect run scannet.pt from models/annotators (make_normal_bae.py's deterministic weights in NNET's published
/// layout) and draw make_normal_bae.py's normal maps (no value more than 2 levels off, at most 1 in 100 off by 2); without
/// the file the class is a node error naming it and the module is not offered.
/// </summary>
public sealed class NormalBaeMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "normal-bae-reference.json"))).RootElement;

    private static Dictionary<string, string?> Settings() => new() { ["FlowDiffusion:ModelsFolder"] = Path.GetDirectoryName(Path.GetDirectoryName(NormalBaeWeights.Shared())) };

    [Fact]
    public async Task BAE_NormalMapPreprocessor_draws_the_references_map()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
        var c = Case(64);
        var prompt = new JsonObject
        {
            ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
            ["2"] = new JsonObject { ["class_type"] = "BAE-NormalMapPreprocessor", ["inputs"] = new JsonObject { ["image"] = new JsonArray("1", 0), ["resolution"] = 64 } },
            ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "normal" } },
        };
        AssertMap(c, await ClassMappingTests.RunForImageAsync(host, prompt), "BAE-NormalMapPreprocessor 64");

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/BAE-NormalMapPreprocessor"))!["BAE-NormalMapPreprocessor"]!;
        Assert.Equal(512, info["input"]!["optional"]!["resolution"]![1]!["default"]!.GetValue<int>());
        Assert.Equal("ControlNet Preprocessors/Normal and Depth Estimators", info["category"]!.GetValue<string>());
    }

    [Fact]
    public async Task Detect_normal_bae_draws_the_references_map_at_its_processor_res()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
        {
            ["controlnet_module"] = "normal_bae", ["controlnet_input_images"] = new JsonArray(Convert.ToBase64String(ImagePng())),
            ["controlnet_processor_res"] = 128,
        });
        Assert.True(status == 200, body.ToJsonString());
        AssertMap(Case(128), Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), "normal_bae 128");

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        Assert.Contains("normal_bae", modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("""[{"name":"Resolution","value":512,"min":64,"max":2048,"step":8}]""", modules["module_detail"]!["normal_bae"]!["sliders"]!.ToJsonString());
    }

    [Fact]
    public async Task Without_scannet_pt_the_class_is_a_node_error_naming_it_and_the_module_is_not_offered()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-normal-bae-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(empty, RepositoryRoot.Path, empty)), m => m.Name == "normal_bae");
            Assert.Contains(A1111ControlNetModules.Sorted(new ComfyFolders(NormalBaeWeights.ModelsFolder, RepositoryRoot.Path, empty)), m => m.Name == "normal_bae");
            await AnnotatorAbsence.AssertRefusedAsync(empty, "BAE-NormalMapPreprocessor", "", NormalBaeWeights.FileName, "normal_bae", ImagePng());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    private static JsonElement Case(int resolution) => Oracle.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("resolution").GetInt32() == resolution);

    // The PNG's RGB against the reference's: its size, no value more than 2 levels off, at most 1 in 100 off by 2.
    private static void AssertMap(JsonElement c, byte[] png, string label)
    {
        var expected = c.GetProperty("normal").GetBytesFromBase64();
        var got = ClassMappingTests.Pixels(png);
        Assert.True(got.Length == expected.Length, $"{label}: {got.Length} values, {expected.Length} expected ({c.GetProperty("width")}×{c.GetProperty("height")})");
        int wrong = 0, worst = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            var difference = Math.Abs(got[i] - expected[i]);
            if (difference > 1) wrong++;
            worst = Math.Max(worst, difference);
        }

        Assert.True(worst <= 2 && wrong <= expected.Length / 100, $"{label}: {wrong} of {expected.Length} values differ by more than one level, by up to {worst}");
    }

    private static byte[] ImagePng() => SoftEdgeReferences.ImagePng(Oracle);
}
