using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's DepthAnythingPreprocessor and DepthAnythingV2Preprocessor through /prompt and
/// sd-webui-controlnet's depth_anything and depth_anything_v2 through /controlnet/detect run Depth Anything's weights from
/// models/annotators (make_depth_anything.py's deterministic vits weights in the published layout, linked under the
/// names the front ends look for; the size is read from the file) at the default 518 input and draw make_depth_anything.py's maps of a
/// square image (the network sees the trained 37 × 37 grid) within 2 levels; without the file the class is a node error
/// naming it and the modules are not offered.
/// </summary>
public sealed class DepthAnythingMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "depth-anything-reference.json"))).RootElement;

    private static string ModelsFolder()
    {
        DepthAnythingWeights.Named("depth_anything_v2_vitl.pth");
        DepthAnythingWeights.Named("depth_anything_vits14.pth");
        return Path.GetDirectoryName(Path.GetDirectoryName(DepthAnythingWeights.Shared()))!;
    }

    private static JsonElement Case(string variant) => Oracle.GetProperty("cases").EnumerateArray()
        .Single(c => c.GetProperty("square").GetBoolean() && c.GetProperty("variant").GetString() == variant);

    [Fact]
    public async Task DepthAnythingV2Preprocessor_draws_the_references_map()
    {
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = ModelsFolder() });
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "square.png", SquarePng());
        var prompt = new JsonObject
        {
            ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
            ["2"] = new JsonObject
            {
                ["class_type"] = "DepthAnythingV2Preprocessor",
                ["inputs"] = new JsonObject { ["image"] = new JsonArray("1", 0), ["ckpt_name"] = "depth_anything_v2_vits.pth", ["resolution"] = 64 },
            },
            ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "depth" } },
        };
        AssertMap(Case("aux"), await ClassMappingTests.RunForImageAsync(host, prompt), "DepthAnythingV2Preprocessor");
    }

    [Fact]
    public async Task Detect_depth_anything_v2_draws_the_references_map_through_the_extensions_pipeline()
    {
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = ModelsFolder() });
        var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
        {
            ["controlnet_module"] = "depth_anything_v2", ["controlnet_input_images"] = new JsonArray(Convert.ToBase64String(SquarePng())), ["controlnet_processor_res"] = 64,
        });
        Assert.True(status == 200, body.ToJsonString());
        AssertMap(Case("webui"), Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), "depth_anything_v2");
    }

    [Fact]
    public void Ui_workflow_widgets_land_on_the_checkpoint_and_resolution_as_v1_through_auxs_pipeline()
    {
        JsonObject Node(int id, string type, JsonArray widgets, params (string Name, int Link)[] inputs) => new()
        {
            ["id"] = id, ["type"] = type, ["pos"] = new JsonArray(0, 0), ["mode"] = 0, ["widgets_values"] = widgets,
            ["inputs"] = new JsonArray(inputs.Select(i => (JsonNode)new JsonObject { ["name"] = i.Name, ["link"] = i.Link }).ToArray()),
        };
        var ui = new JsonObject
        {
            ["last_node_id"] = 3, ["last_link_id"] = 2, ["version"] = 0.4,
            ["nodes"] = new JsonArray(Node(1, "LoadImage", ["strokes.png", "image"]), Node(2, "DepthAnythingPreprocessor", ["depth_anything_vits14.pth", 320], ("image", 1)), Node(3, "SaveImage", ["depth"], ("images", 2))),
            ["links"] = new JsonArray(new JsonArray(1, 1, 0, 2, 0, "IMAGE"), new JsonArray(2, 2, 0, 3, 0, "IMAGE")),
        };
        var folders = new ComfyFolders(ModelsFolder(), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

        var (conversion, problems) = ComfyWorkflowImport.Import(System.Text.Encoding.UTF8.GetBytes(ui.ToJsonString()), "depth-ui", folders);

        Assert.True(conversion?.Workflow is not null, string.Join("; ", problems));
        var depth = conversion!.Workflow!.Node("n2")!;
        object? Parameter(string name) => ((FlowDiffusion.Engine.Workflows.LiteralValue)depth.Parameter(name)!.Value).Value;
        Assert.Equal(("image.depth_anything", "v1", "aux", 320L), (depth.Type, (string)Parameter("version")!, (string)Parameter("variant")!, (long)Parameter("resolution")!));
        Assert.EndsWith(Path.Combine("annotators", "depth_anything_vits14.pth"), (string)Parameter("model")!);
    }

    [Fact]
    public async Task Without_the_weights_the_class_is_a_node_error_naming_the_file_and_the_modules_are_not_offered()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-depth-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(empty, RepositoryRoot.Path, empty)), m => m.Name.StartsWith("depth_anything", StringComparison.Ordinal));
            var offered = A1111ControlNetModules.Sorted(new ComfyFolders(ModelsFolder(), RepositoryRoot.Path, empty)).Select(m => m.Name).ToList();
            Assert.Contains("depth_anything_v2", offered);
            Assert.DoesNotContain("depth_anything", offered); // no depth_anything_vitl14.pth there
            await AnnotatorAbsence.AssertRefusedAsync(empty, "DepthAnythingV2Preprocessor", "", "depth_anything_v2_vitl.pth", "depth_anything_v2", SquarePng());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    // Within 2 levels everywhere, more than one level off at no more than 1 pixel in 100.
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
            if (difference > 1) wrong++;
            worst = Math.Max(worst, difference);
        }

        Assert.True(worst <= 2 && wrong <= expected.Length / 100, $"{label}: {wrong} of {expected.Length} pixels differ by more than one level, by up to {worst}");
        Assert.True(expected.Min() == 0 && expected.Max() >= 200 && expected.Distinct().Count() >= 15, $"{label}: the reference is not a stretched map");
    }

    // make_depth_anything.py's square_image: the test image's 64 × 64 crop at rows 6.., columns 18...
    private static byte[] SquarePng()
    {
        var image = Oracle.GetProperty("image");
        var width = image.GetProperty("width").GetInt32();
        var rgb = image.GetProperty("rgb_hwc").GetBytesFromBase64();
        using var bitmap = new SKBitmap(64, 64);
        for (var y = 0; y < 64; y++)
        for (var x = 0; x < 64; x++)
        {
            var i = 3 * ((y + 6) * width + x + 18);
            bitmap.SetPixel(x, y, new SKColor(rgb[i], rgb[i + 1], rgb[i + 2]));
        }

        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
