using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's LineArtPreprocessor (coarse disable / enable) through /prompt and sd-webui-controlnet's
/// lineart_realistic and lineart_coarse through /controlnet/detect run sk_model.pth and sk_model2.pth from
/// models/annotators (make_lineart.py's deterministic weights in the published layout) and draw make_lineart.py's maps
/// within one level (at most 1 pixel in 1000); without a file the class is a node error naming it and its module is not offered.
/// </summary>
public sealed class LineartMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "lineart-reference.json"))).RootElement;

    private static string ModelsFolder()
    {
        LineartWeights.Shared(LineartWeights.Realistic);
        LineartWeights.Shared(LineartWeights.Coarse);
        return LineartWeights.ModelsFolder;
    }

    private static Dictionary<string, string?> Settings() => new() { ["FlowDiffusion:ModelsFolder"] = ModelsFolder() };

    private static JsonElement Case(string model, int resolution) =>
        Oracle.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("model").GetString() == model && c.GetProperty("resolution").GetInt32() == resolution);

    [Fact]
    public async Task LineArtPreprocessor_draws_the_references_realistic_and_coarse_maps()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await UploadImageAsync(host);
        foreach (var (coarse, model, resolution) in new[] { ("disable", "realistic", 96), ("enable", "coarse", 64) })
        {
            var prompt = new JsonObject
            {
                ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
                ["2"] = new JsonObject
                {
                    ["class_type"] = "LineArtPreprocessor",
                    ["inputs"] = new JsonObject { ["image"] = new JsonArray("1", 0), ["coarse"] = coarse, ["resolution"] = resolution },
                },
                ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "lineart" } },
            };
            AssertMap(Case(model, resolution), await ClassMappingTests.RunForImageAsync(host, prompt), $"LineArtPreprocessor coarse {coarse} resolution {resolution}");
        }

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/LineArtPreprocessor"))!["LineArtPreprocessor"]!;
        Assert.Equal("""["disable","enable"]""", info["input"]!["optional"]!["coarse"]![0]!.ToJsonString());
        Assert.Equal(512, info["input"]!["optional"]!["resolution"]![1]!["default"]!.GetValue<int>());
    }

    [Fact]
    public async Task Detect_lineart_realistic_and_coarse_draw_the_references_maps_at_the_processor_resolution()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var image = Convert.ToBase64String(ImagePng());
        foreach (var (module, model) in new[] { ("lineart_realistic", "realistic"), ("lineart_coarse", "coarse"), ("lineart", "realistic") })
        {
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = module, ["controlnet_input_images"] = new JsonArray(image), ["controlnet_processor_res"] = 64,
            });
            Assert.True(status == 200, body.ToJsonString());
            AssertMap(Case(model, 64), Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), module);
        }

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list?alias_names=true"))!;
        Assert.Contains("lineart_realistic", modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("""[{"name":"Resolution","value":512,"min":64,"max":2048,"step":8}]""", modules["module_detail"]!["lineart_coarse"]!["sliders"]!.ToJsonString());
        var types = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/control_types"))!;
        Assert.Contains("lineart_coarse", types["control_types"]!["Lineart"]!["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
    }

    [Fact]
    public async Task AnimeLineArtPreprocessor_and_detect_lineart_anime_draw_the_references_maps()
    {
        var folder = Path.GetDirectoryName(Path.GetDirectoryName(AnimeLineartWeights.Shared()))!;
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = folder });
        var name = await UploadImageAsync(host);
        JsonElement Anime(int resolution) => Oracle.GetProperty("anime").EnumerateArray().Single(c => c.GetProperty("resolution").GetInt32() == resolution);
        var prompt = new JsonObject
        {
            ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
            ["2"] = new JsonObject { ["class_type"] = "AnimeLineArtPreprocessor", ["inputs"] = new JsonObject { ["image"] = new JsonArray("1", 0), ["resolution"] = 96 } },
            ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "anime" } },
        };
        AssertMap(Anime(96), await ClassMappingTests.RunForImageAsync(host, prompt), "AnimeLineArtPreprocessor resolution 96");
        var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
        {
            ["controlnet_module"] = "lineart_anime", ["controlnet_input_images"] = new JsonArray(Convert.ToBase64String(ImagePng())), ["controlnet_processor_res"] = 64,
        });
        Assert.True(status == 200, body.ToJsonString());
        AssertMap(Anime(64), Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), "lineart_anime");
        var listed = A1111ControlNetModules.Sorted(new ComfyFolders(folder, RepositoryRoot.Path, folder)).Select(m => m.Name).ToList();
        Assert.Contains("lineart_anime", listed);
        Assert.DoesNotContain("lineart", listed);
    }

    [Fact]
    public async Task Without_a_lineart_file_its_class_is_a_node_error_naming_it_and_its_module_is_not_offered()
    {
        var only = Path.Combine(Path.GetTempPath(), "fd-lineart-realistic-only-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(only, "annotators"));
        File.Copy(Path.Combine(ModelsFolder(), "annotators", LineartWeights.Realistic), Path.Combine(only, "annotators", LineartWeights.Realistic));
        try
        {
            var listed = A1111ControlNetModules.Sorted(new ComfyFolders(only, RepositoryRoot.Path, only)).Select(m => m.Name).ToList();
            Assert.Contains("lineart", listed);
            Assert.DoesNotContain("lineart_coarse", listed);
            await AnnotatorAbsence.AssertRefusedAsync(only, "LineArtPreprocessor", ", \"coarse\": \"enable\"", "sk_model2.pth", "lineart_coarse", ImagePng());
        }
        finally
        {
            Directory.Delete(only, recursive: true);
        }
    }

    private static void AssertMap(JsonElement c, byte[] png, string label)
    {
        using (var bitmap = SKBitmap.Decode(png)!)
            Assert.True((c.GetProperty("width").GetInt32(), c.GetProperty("height").GetInt32()) == (bitmap.Width, bitmap.Height), $"{label}: {bitmap.Width}×{bitmap.Height}");
        var expected = c.GetProperty("output").GetBytesFromBase64();
        var got = ClassMappingTests.Pixels(png);
        int wrong = 0, worst = 0;
        for (var p = 0; p < expected.Length; p++)
        {
            var difference = Enumerable.Range(0, 3).Max(ch => Math.Abs(got[3 * p + ch] - expected[p]));
            if (difference > 0) wrong++;
            worst = Math.Max(worst, difference);
        }

        Assert.True(worst <= 1 && wrong <= expected.Length / 1000, $"{label}: {wrong} of {expected.Length} pixels differ, by up to {worst} levels");
    }

    private static byte[] ImagePng()
    {
        var image = Oracle.GetProperty("image");
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var rgb = image.GetProperty("rgb_hwc").GetBytesFromBase64();
        using var bitmap = new SKBitmap(width, height);
        for (var i = 0; i < width * height; i++) bitmap.SetPixel(i % width, i / width, new SKColor(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static Task<string> UploadImageAsync(ComfyHost host) => ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
}
