using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's model-free preprocessors through /prompt: an uploaded image through each class and SaveImage
/// gives the pixels of tools/reference/aux_preprocessors.py (the numpy restatement of aux's annotators, equal to OpenCV
/// and aux on these cases) exactly, as the hand-written workflows of AuxPreprocessorTests do; InpaintPreprocessor's
/// masked pixels (−1) save black; aux's ranges are enforced as ComfyUI enforces them; /object_info describes the classes.
/// </summary>
public sealed class AuxPreprocessorMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Imaging.Tests", "TestData", "aux-preprocessors.json"))).RootElement;

    private static readonly Dictionary<string, string> ClassOf = new()
    {
        ["tile"] = "TilePreprocessor", ["color"] = "ColorPreprocessor", ["binary"] = "BinaryPreprocessor", ["lineart_standard"] = "LineartStandardPreprocessor",
        ["scribble_xdog"] = "Scribble_XDoG_Preprocessor", ["canny"] = "CannyEdgePreprocessor", ["intensity"] = "ImageIntensityDetector",
        ["luminance"] = "ImageLuminanceDetector", ["scribble"] = "ScribblePreprocessor",
    };

    [Fact]
    public async Task Each_class_draws_the_references_pixels()
    {
        await using var host = await ComfyHost.StartAsync();
        var (name, _, _, _) = await UploadImageAsync(host);
        foreach (var c in Oracle.GetProperty("cases").EnumerateArray())
        {
            var inputs = new JsonObject { ["image"] = new JsonArray("1", 0) };
            foreach (var p in c.GetProperty("params").EnumerateObject()) inputs[p.Name] = JsonNode.Parse(p.Value.GetRawText());
            var prompt = new JsonObject
            {
                ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
                ["2"] = new JsonObject { ["class_type"] = ClassOf[c.GetProperty("node").GetString()!], ["inputs"] = inputs },
                ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "aux" } },
            };
            var png = await ClassMappingTests.RunForImageAsync(host, prompt);
            using var bitmap = SKBitmap.Decode(png)!;
            var label = $"{ClassOf[c.GetProperty("node").GetString()!]} {c.GetProperty("params")}";
            Assert.True((c.GetProperty("width").GetInt32(), c.GetProperty("height").GetInt32()) == (bitmap.Width, bitmap.Height), $"{label}: {bitmap.Width}×{bitmap.Height}");
            var expected = c.GetProperty("output").GetBytesFromBase64();
            var got = ClassMappingTests.Pixels(png);
            var wrong = expected.Where((e, i) => got[i] != e).Count();
            Assert.True(wrong == 0, $"{label}: {wrong} of {expected.Length} values differ");
        }
    }

    [Fact]
    public async Task Inpaint_preprocessor_blacks_out_the_resized_masks_pixels_and_keeps_the_rest()
    {
        await using var host = await ComfyHost.StartAsync();
        var (name, height, width, rgb) = await UploadImageAsync(host);
        var mask = Oracle.GetProperty("mask");
        int maskHeight = mask.GetProperty("height").GetInt32(), maskWidth = mask.GetProperty("width").GetInt32();
        var levels = mask.GetProperty("levels").GetBytesFromBase64();
        var maskName = await ClassMappingTests.UploadAsync(host, "/upload/image", "soft-mask.png",
            Png(maskWidth, maskHeight, i => new SKColor(levels[i], levels[i], levels[i])));
        foreach (var black in new[] { false, true })
        {
            var prompt = Prompts.Parse($$"""
                {
                  "1": { "class_type": "LoadImage", "inputs": { "image": "{{name}}" } },
                  "3": { "class_type": "LoadImageMask", "inputs": { "image": "{{maskName}}", "channel": "red" } },
                  "2": { "class_type": "InpaintPreprocessor", "inputs": { "image": ["1", 0], "mask": ["3", 0], "black_pixel_for_xinsir_cn": {{(black ? "true" : "false")}} } },
                  "9": { "class_type": "SaveImage", "inputs": { "images": ["2", 0], "filename_prefix": "inpaint" } }
                }
                """);
            var got = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
            var masked = Oracle.GetProperty("inpaint_masked").GetBytesFromBase64();
            var wrong = 0;
            for (var i = 0; i < height * width; i++)
            for (var c = 0; c < 3; c++)
                if (got[3 * i + c] != (masked[i] == 1 ? 0 : rgb[3 * i + c])) wrong++;
            Assert.True(wrong == 0, $"black_pixel_for_xinsir_cn {black}: {wrong} values differ");
            Assert.InRange(masked.Count(m => m == 1), 500, masked.Length / 2);
        }
    }

    [Theory]
    [InlineData("BinaryPreprocessor", "resolution", 32, "value_smaller_than_min")]
    [InlineData("ColorPreprocessor", "resolution", 16448, "value_bigger_than_max")]
    [InlineData("TilePreprocessor", "pyrUp_iters", 0, "value_smaller_than_min")]
    [InlineData("LineartStandardPreprocessor", "intensity_threshold", 17, "value_bigger_than_max")]
    [InlineData("LineartStandardPreprocessor", "guassian_sigma", 0, "value_smaller_than_min")]
    [InlineData("Scribble_XDoG_Preprocessor", "threshold", 65, "value_bigger_than_max")]
    [InlineData("CannyEdgePreprocessor", "high_threshold", 256, "value_bigger_than_max")]
    [InlineData("ImageIntensityDetector", "gamma_correction", 0.05, "value_smaller_than_min")]
    [InlineData("ImageLuminanceDetector", "gamma_correction", 2.5, "value_bigger_than_max")]
    [InlineData("ScribblePreprocessor", "resolution", 16448, "value_bigger_than_max")]
    public async Task Out_of_range_inputs_are_node_errors_naming_the_input(string classType, string input, double value, string type)
    {
        await using var host = await ComfyHost.StartAsync();
        var (name, _, _, _) = await UploadImageAsync(host);
        var prompt = Prompts.Parse($$"""
            {
              "1": { "class_type": "LoadImage", "inputs": { "image": "{{name}}" } },
              "2": { "class_type": "{{classType}}", "inputs": { "image": ["1", 0] } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["2", 0], "filename_prefix": "aux" } }
            }
            """);
        prompt["2"]!["inputs"]![input] = value;
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        var error = body["node_errors"]!["2"]!["errors"]![0]!;
        Assert.Equal(type, error["type"]!.GetValue<string>());
        Assert.Equal(input, error["extra_info"]!["input_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Object_info_describes_the_classes_with_auxs_optional_inputs()
    {
        await using var host = await ComfyHost.StartAsync();
        var all = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        foreach (var name in ClassOf.Values.Append("InpaintPreprocessor")) Assert.NotNull(all[name]);
        var lineart = all["LineartStandardPreprocessor"]!["input"]!;
        Assert.Equal(["image"], lineart["required"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["guassian_sigma", "intensity_threshold", "resolution"], lineart["optional"]!.AsObject().Select(p => p.Key));
        Assert.Equal(512, lineart["optional"]!["resolution"]![1]!["default"]!.GetValue<double>());
        Assert.Equal(["image", "mask"], all["InpaintPreprocessor"]!["input"]!["required"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public void Ui_workflow_widgets_land_on_the_parameters_in_auxs_order()
    {
        // LoadImage → each aux class (widgets in aux's optional-input order) → a SaveImage per class.
        (string Type, JsonArray Widgets)[] classes =
        [
            ("TilePreprocessor", [2, 512]), ("ColorPreprocessor", [256]), ("BinaryPreprocessor", [0, 320]),
            ("LineartStandardPreprocessor", [3.5, 4, 256]), ("Scribble_XDoG_Preprocessor", [20, 448]),
            ("CannyEdgePreprocessor", [50, 150, 640]), ("InpaintPreprocessor", [true]), ("ImageIntensityDetector", [0.8, 192]),
            ("AIO_Preprocessor", ["ImageLuminanceDetector", 320]),
        ];
        var nodes = new JsonArray(UiNode(1, "LoadImage", ["strokes.png", "image"]), UiNode(2, "LoadImageMask", ["strokes.png", "image", "red"]));
        var links = new JsonArray();
        for (var i = 0; i < classes.Length; i++)
        {
            int id = 10 + i, save = 30 + i;
            var inputs = classes[i].Type == "InpaintPreprocessor" ? new[] { ("image", 100 + i), ("mask", 200) } : [("image", 100 + i)];
            nodes.Add(UiNode(id, classes[i].Type, classes[i].Widgets, inputs));
            nodes.Add(UiNode(save, "SaveImage", ["aux"], ("images", 150 + i)));
            links.Add(new JsonArray(100 + i, 1, 0, id, 0, "IMAGE"));
            links.Add(new JsonArray(150 + i, id, 0, save, 0, "IMAGE"));
        }

        links.Add(new JsonArray(200, 2, 0, 16, 1, "MASK"));
        var ui = new JsonObject { ["last_node_id"] = 40, ["last_link_id"] = 200, ["nodes"] = nodes, ["links"] = links, ["version"] = 0.4 };
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

        var (conversion, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui.ToJsonString()), "aux-ui", folders);

        Assert.True(conversion?.Workflow is not null, string.Join("; ", problems));
        var workflow = conversion!.Workflow!;
        object? Parameter(int id, string name) => ((LiteralValue)workflow.Node($"n{id}")!.Parameter(name)!.Value).Value;
        Assert.Equal(("image.tile_resample", 2L), (workflow.Node("n10")!.Type, (long)Parameter(10, "iterations")!));
        Assert.Equal(("image.color_grid", 256L), (workflow.Node("n11")!.Type, (long)Parameter(11, "resolution")!));
        Assert.Equal(("image.binary", 0L, 320L), (workflow.Node("n12")!.Type, (long)Parameter(12, "threshold")!, (long)Parameter(12, "resolution")!));
        Assert.Equal(("image.lineart_standard", 3.5, 4L, 256L),
            (workflow.Node("n13")!.Type, (double)Parameter(13, "gaussian_sigma")!, (long)Parameter(13, "intensity_threshold")!, (long)Parameter(13, "resolution")!));
        Assert.Equal(("image.scribble_xdog", 20L, 448L), (workflow.Node("n14")!.Type, (long)Parameter(14, "threshold")!, (long)Parameter(14, "resolution")!));
        Assert.Equal(("image.canny", 50L, 150L, "rgb", 640L),
            (workflow.Node("n15")!.Type, (long)Parameter(15, "low_threshold")!, (long)Parameter(15, "high_threshold")!, (string)Parameter(15, "channels")!, (long)Parameter(15, "resolution")!));
        Assert.Equal(("image.inpaint_control", true), (workflow.Node("n16")!.Type, (bool)Parameter(16, "black_pixels")!));
        Assert.Equal(("image.intensity", 0.8, 192L), (workflow.Node("n17")!.Type, (double)Parameter(17, "gamma_correction")!, (long)Parameter(17, "resolution")!));
        Assert.Equal(("image.intensity", "luminance", 1.0, 320L),
            (workflow.Node("n18")!.Type, (string)Parameter(18, "mode")!, (double)Parameter(18, "gamma_correction")!, (long)Parameter(18, "resolution")!));
    }

    // A UI-format node: its widgets' values in order and its linked inputs.
    private static JsonObject UiNode(int id, string type, JsonArray widgets, params (string Name, int Link)[] inputs) => new()
    {
        ["id"] = id, ["type"] = type, ["pos"] = new JsonArray(0, 0), ["mode"] = 0, ["widgets_values"] = widgets,
        ["inputs"] = new JsonArray(inputs.Select(i => (JsonNode)new JsonObject { ["name"] = i.Name, ["link"] = i.Link }).ToArray()),
    };

    private static async Task<(string Name, int Height, int Width, byte[] Rgb)> UploadImageAsync(ComfyHost host)
    {
        var image = Oracle.GetProperty("image");
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var rgb = image.GetProperty("rgb_hwc").GetBytesFromBase64();
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", Png(width, height, i => new SKColor(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2])));
        return (name, height, width, rgb);
    }

    private static byte[] Png(int width, int height, Func<int, SKColor> colour)
    {
        using var bitmap = new SKBitmap(width, height);
        for (var i = 0; i < width * height; i++) bitmap.SetPixel(i % width, i / width, colour(i));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
