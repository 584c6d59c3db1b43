using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's MiDaS-DepthMapPreprocessor and MiDaS-NormalMapPreprocessor through /prompt and
/// sd-webui-controlnet's depth_midas and normal_midas through /controlnet/detect run dpt_hybrid-midas-501f0c75.pt from
/// models/annotators (make_midas.py's deterministic weights in the published layout) and draw make_midas.py's maps within
/// 2 levels (aux's normal in its (z, y, x) order, the extension's in (x, y, z) with its threshold_a as the background
/// threshold); without the file the classes are node errors naming it and the modules are not offered.
/// </summary>
public sealed class MidasMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "midas-reference.json"))).RootElement;

    private static string ModelsFolder() => Path.GetDirectoryName(Path.GetDirectoryName(MidasWeights.Shared()))!;

    private static JsonElement Case(string variant) => Oracle.GetProperty("cases").EnumerateArray()
        .First(c => c.GetProperty("variant").GetString() == variant && Math.Abs(c.GetProperty("a").GetDouble() - Math.PI * 2) < 1e-9);

    [Theory]
    [InlineData("MiDaS-DepthMapPreprocessor", "depth")]
    [InlineData("MiDaS-NormalMapPreprocessor", "normal")]
    public async Task Auxs_classes_draw_the_references_maps(string classType, string output)
    {
        var c = Case("aux");
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = ModelsFolder() });
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
        var prompt = new JsonObject
        {
            ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
            ["2"] = new JsonObject
            {
                ["class_type"] = classType,
                ["inputs"] = new JsonObject
                {
                    ["image"] = new JsonArray("1", 0), ["a"] = c.GetProperty("a").GetDouble(), ["bg_threshold"] = c.GetProperty("bg_threshold").GetDouble(),
                    ["resolution"] = c.GetProperty("resolution").GetInt32(),
                },
            },
            ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "midas" } },
        };
        AssertMap(c, output, await ClassMappingTests.RunForImageAsync(host, prompt), classType);
    }

    [Theory]
    [InlineData("depth_midas", "depth")]
    [InlineData("depth", "depth")]
    [InlineData("normal_midas", "normal")]
    public async Task Detect_draws_the_references_maps_through_the_extensions_modules(string module, string output)
    {
        var c = Case("webui");
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = ModelsFolder() });
        var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
        {
            ["controlnet_module"] = module, ["controlnet_input_images"] = new JsonArray(Convert.ToBase64String(ImagePng())),
            ["controlnet_processor_res"] = c.GetProperty("resolution").GetInt32(), ["controlnet_threshold_a"] = c.GetProperty("bg_threshold").GetDouble(),
        });
        Assert.True(status == 200, body.ToJsonString());
        AssertMap(c, output, Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), module);
    }

    [Fact]
    public async Task Without_the_weights_the_classes_are_node_errors_naming_the_file_and_the_modules_are_not_offered()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-midas-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            var none = A1111ControlNetModules.Sorted(new ComfyFolders(empty, RepositoryRoot.Path, empty)).Select(m => m.Label).ToList();
            Assert.DoesNotContain("depth_midas", none);
            Assert.DoesNotContain("normal_midas", none);
            var offered = A1111ControlNetModules.Sorted(new ComfyFolders(ModelsFolder(), RepositoryRoot.Path, empty)).Select(m => m.Label).ToList();
            Assert.Contains("depth_midas", offered);
            Assert.Contains("normal_midas", offered);
            await AnnotatorAbsence.AssertRefusedAsync(empty, "MiDaS-DepthMapPreprocessor", "", MidasWeights.FileName, "depth_midas", ImagePng());
            await AnnotatorAbsence.AssertRefusedAsync(empty, "MiDaS-NormalMapPreprocessor", "", MidasWeights.FileName, "normal_midas", ImagePng());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    // Within 2 levels everywhere, more than one level off at no more than 1 value in 100 (depth: the grey plane in every channel).
    private static void AssertMap(JsonElement c, string output, byte[] png, string label)
    {
        using (var bitmap = SKBitmap.Decode(png)!)
            Assert.True((c.GetProperty("width").GetInt32(), c.GetProperty("height").GetInt32()) == (bitmap.Width, bitmap.Height), $"{label}: {bitmap.Width}×{bitmap.Height}");
        var expected = c.GetProperty(output).GetBytesFromBase64();
        var got = ClassMappingTests.Pixels(png);
        var grey = output == "depth";
        int wrong = 0, worst = 0;
        for (var i = 0; i < got.Length; i++)
        {
            var difference = Math.Abs(got[i] - expected[grey ? i / 3 : i]);
            if (difference > 1) wrong++;
            worst = Math.Max(worst, difference);
        }

        Assert.True(worst <= 2 && wrong <= got.Length / 100, $"{label}: {wrong} of {got.Length} values differ by more than one level, by up to {worst}");
        Assert.True(expected.Distinct().Count() >= 15, $"{label}: the reference is nearly flat");
    }

    // make_midas.py's test image (aux_preprocessors.test_image) as a PNG.
    private static byte[] ImagePng()
    {
        var image = Oracle.GetProperty("image");
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var rgb = image.GetProperty("rgb_hwc").GetBytesFromBase64();
        using var bitmap = new SKBitmap(width, height);
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var i = 3 * (y * width + x);
            bitmap.SetPixel(x, y, new SKColor(rgb[i], rgb[i + 1], rgb[i + 2]));
        }

        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
