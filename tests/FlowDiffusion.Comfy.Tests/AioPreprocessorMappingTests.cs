using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's AIO_Preprocessor: each name it takes converts to the very graph of its class with only image
/// and resolution (aux runs the class with every other input at its default); the model-free ones draw
/// tools/reference/aux_preprocessors.py's pixels at aux's defaults; none passes the image; a name it does not take, and a
/// class whose weights are missing, are node errors naming preprocessor. sd-webui-controlnet's recolor_luminance and
/// recolor_intensity through /controlnet/detect draw the reference's full-size maps.
/// </summary>
public sealed class AioPreprocessorMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Imaging.Tests", "TestData", "aux-preprocessors.json"))).RootElement;

    // The oracle's cases at aux's defaults but resolution (TilePreprocessor's 3 iterations ignore it), by class.
    private static readonly (string Class, string Node, string Params)[] DefaultCases =
    [
        ("TilePreprocessor", "tile", """{"pyrUp_iters":3}"""),
        ("ColorPreprocessor", "color", """{"resolution":64}"""),
        ("BinaryPreprocessor", "binary", """{"bin_threshold":100,"resolution":64}"""),
        ("LineartStandardPreprocessor", "lineart_standard", """{"guassian_sigma":6.0,"intensity_threshold":8,"resolution":64}"""),
        ("Scribble_XDoG_Preprocessor", "scribble_xdog", """{"threshold":32,"resolution":64}"""),
        ("CannyEdgePreprocessor", "canny", """{"low_threshold":100,"high_threshold":200,"resolution":64}"""),
        ("ImageIntensityDetector", "intensity", """{"gamma_correction":1.0,"resolution":64}"""),
        ("ImageLuminanceDetector", "luminance", """{"gamma_correction":1.0,"resolution":64}"""),
        ("ScribblePreprocessor", "scribble", """{"resolution":64}"""),
    ];

    [Fact]
    public void Each_name_converts_to_its_classs_graph_with_the_classs_defaults()
    {
        // Every annotator file the classes read at their defaults, empty: the conversion only resolves the names.
        var root = Path.Combine(Path.GetTempPath(), "fd-aio-" + Guid.NewGuid().ToString("N"));
        var annotators = Directory.CreateDirectory(Path.Combine(root, "annotators")).FullName;
        try
        {
            foreach (var file in new[]
                     {
                         ApiPromptConverter.HedWeightsFile, ApiPromptConverter.PidinetWeightsFile, ApiPromptConverter.TeedWeightsFile,
                         ApiPromptConverter.LineartWeightsFiles.Realistic, ApiPromptConverter.AnimeLineartWeightsFile, ApiPromptConverter.MlsdWeightsFile,
                         ApiPromptConverter.DepthAnythingFiles[0], ApiPromptConverter.DepthAnythingV2Files[0], ApiPromptConverter.MidasWeightsFile,
                         ApiPromptConverter.MangaLineWeightsFile, ApiPromptConverter.NormalBaeWeightsFile,
                         ApiPromptConverter.LeresWeightsFile,
                     })
                File.WriteAllBytes(Path.Combine(annotators, file), []);
            var folders = new ComfyFolders(root, RepositoryRoot.Path, root);
            var names = ApiPromptConverter.AioPreprocessors.Where(n => n != "none").ToList();
            Assert.Equal(24, names.Count);
            foreach (var name in names)
            {
                var aio = ConvertPrompt(folders, new JsonObject { ["image"] = new JsonArray("1", 0), ["preprocessor"] = name, ["resolution"] = 192 }, ApiPromptConverter.AioPreprocessorClass);
                var own = ConvertPrompt(folders, new JsonObject { ["image"] = new JsonArray("1", 0), ["resolution"] = 192 }, name);
                Assert.True(aio.Workflow is not null, $"{name}: {string.Join("; ", aio.NodeErrors.SelectMany(e => e.Value.Errors).Select(e => e.Details))}");
                // The same nodes and values; only the titles name the class the prompt held.
                Assert.Equal(Untitled(own.Workflow!), Untitled(aio.Workflow!));
                Assert.Equal(ApiPromptConverter.AioPreprocessorClass, aio.ClassTypes["2"]);
            }

            // The defaults the classes fill in, for three of them (the comparison above would pass were both wrong alike).
            Parameters(folders, "LineartStandardPreprocessor", "image.lineart_standard", ("gaussian_sigma", 6.0), ("intensity_threshold", 8L), ("resolution", 192L));
            Parameters(folders, "ImageLuminanceDetector", "image.intensity", ("mode", "luminance"), ("gamma_correction", 1.0), ("resolution", 192L));
            Parameters(folders, "HEDPreprocessor", "image.hed", ("safe", true), ("scribble", "none"), ("resolution", 192L));
            Parameters(folders, "LeReS-DepthMapPreprocessor", "image.leres", ("remove_near", 0.0), ("remove_background", 0.0), ("resolution", 192L));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task The_model_free_names_draw_the_references_pixels_at_auxs_defaults_and_none_passes_the_image()
    {
        await using var host = await ComfyHost.StartAsync();
        var (name, height, width, rgb) = await UploadImageAsync(host);
        var cases = Oracle.GetProperty("cases").EnumerateArray().ToList();
        foreach (var (classType, node, parameters) in DefaultCases)
        {
            var c = cases.Single(c => c.GetProperty("node").GetString() == node && JsonNode.DeepEquals(JsonNode.Parse(c.GetProperty("params").GetRawText()), JsonNode.Parse(parameters)));
            var got = await RunAioAsync(host, name, classType);
            var expected = c.GetProperty("output").GetBytesFromBase64();
            Assert.True(got.Length == expected.Length, $"{classType}: {got.Length} values, want {expected.Length}");
            var wrong = expected.Where((e, i) => got[i] != e).Count();
            Assert.True(wrong == 0, $"AIO_Preprocessor {classType}: {wrong} of {expected.Length} values differ");
        }

        var passed = await RunAioAsync(host, name, "none");
        Assert.Equal(3 * height * width, passed.Length);
        Assert.True(passed.SequenceEqual(rgb), "none: the image changed");
    }

    [Theory]
    [InlineData("Zoe-DepthMapPreprocessor")] // aux's, not run here
    [InlineData("OpenposePreprocessor")] // its defaults detect hands and faces
    [InlineData("InpaintPreprocessor")] // aux leaves it out of AIO too
    [InlineData("hed")]
    public async Task A_name_it_does_not_take_is_a_node_error_naming_preprocessor_and_the_value(string preprocessor)
    {
        await using var host = await ComfyHost.StartAsync();
        var (name, _, _, _) = await UploadImageAsync(host);
        var (status, body) = await host.PostPromptAsync(Prompt(name, preprocessor));
        Assert.Equal(400, status);
        var error = body["node_errors"]!["2"]!["errors"]![0]!;
        Assert.Equal("value_not_in_list", error["type"]!.GetValue<string>());
        Assert.Equal("preprocessor", error["extra_info"]!["input_name"]!.GetValue<string>());
        Assert.Contains($"'{preprocessor}'", error["details"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(ApiPromptConverter.AioPreprocessorClass, body["node_errors"]!["2"]!["class_type"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_class_without_its_weights_is_a_node_error_naming_preprocessor_the_class_and_the_file()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-aio-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = empty });
            var (name, _, _, _) = await UploadImageAsync(host);
            var (status, body) = await host.PostPromptAsync(Prompt(name, "HEDPreprocessor"));
            Assert.Equal(400, status);
            var errors = body["node_errors"]!["2"]!["errors"]!.AsArray();
            var error = Assert.Single(errors)!;
            Assert.Equal("preprocessor", error["extra_info"]!["input_name"]!.GetValue<string>());
            var details = error["details"]!.GetValue<string>();
            Assert.StartsWith("preprocessor: 'HEDPreprocessor'", details, StringComparison.Ordinal);
            Assert.Contains(ApiPromptConverter.HedWeightsFile, details, StringComparison.Ordinal);

            // The resolution is AIO's own input: out of range it is named as such.
            var prompt = Prompt(name, "ColorPreprocessor");
            prompt["2"]!["inputs"]!["resolution"] = 32;
            (status, body) = await host.PostPromptAsync(prompt);
            Assert.Equal(400, status);
            Assert.Equal("resolution", body["node_errors"]!["2"]!["errors"]![0]!["extra_info"]!["input_name"]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task Object_info_lists_the_names_it_takes_none_first_each_a_class_the_converter_maps()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/AIO_Preprocessor"))!["AIO_Preprocessor"]!;
        Assert.Equal(["image"], info["input"]!["required"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["preprocessor", "resolution"], info["input"]!["optional"]!.AsObject().Select(p => p.Key));
        var names = info["input"]!["optional"]!["preprocessor"]![0]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal(ApiPromptConverter.AioPreprocessors, names);
        Assert.Equal("none", names[0]);
        Assert.All(names.Skip(1), n => Assert.Contains(n, ApiPromptConverter.SupportedClasses));
        Assert.Equal(512, info["input"]!["optional"]!["resolution"]![1]!["default"]!.GetValue<double>());
        var all = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        Assert.NotNull(all["ImageLuminanceDetector"]);
        Assert.Equal(["resolution"], all["ScribblePreprocessor"]!["input"]!["optional"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task Recolor_modules_draw_the_references_full_size_maps_through_detect()
    {
        await using var host = await ComfyHost.StartAsync();
        var image = Oracle.GetProperty("image");
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var png = System.Convert.ToBase64String(ImagePng());
        foreach (var recolor in Oracle.GetProperty("recolors").EnumerateArray())
        {
            var module = $"recolor_{recolor.GetProperty("mode").GetString()}";
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = module, ["controlnet_input_images"] = new JsonArray(png),
                ["controlnet_processor_res"] = 64, ["controlnet_threshold_a"] = recolor.GetProperty("gamma").GetDouble(),
            });
            Assert.True(status == 200, body.ToJsonString());
            var map = System.Convert.FromBase64String(body["images"]![0]!.GetValue<string>());
            using var bitmap = SKBitmap.Decode(map)!;
            Assert.Equal((width, height), (bitmap.Width, bitmap.Height));
            var expected = recolor.GetProperty("output").GetBytesFromBase64();
            var got = ClassMappingTests.Pixels(map);
            var wrong = expected.Where((e, i) => got[i] != e).Count();
            Assert.True(wrong == 0, $"{module} {recolor.GetProperty("gamma")}: {wrong} of {expected.Length} values differ");
        }

        // Outside the slider the gamma is its default, 1, as the extension takes it.
        var (code, answer) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
        {
            ["controlnet_module"] = "recolor_luminance", ["controlnet_input_images"] = new JsonArray(png), ["controlnet_threshold_a"] = 2.5,
        });
        Assert.True(code == 200, answer.ToJsonString());
        var first = Oracle.GetProperty("recolors")[0];
        Assert.Equal((1.0, "luminance"), (first.GetProperty("gamma").GetDouble(), first.GetProperty("mode").GetString()));
        Assert.Equal(first.GetProperty("output").GetBytesFromBase64(), ClassMappingTests.Pixels(System.Convert.FromBase64String(answer["images"]![0]!.GetValue<string>())));
        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        Assert.Equal("""[{"name":"Gamma Correction","value":1,"min":0.1,"max":2,"step":0.001}]""", modules["module_detail"]!["recolor_luminance"]!["sliders"]!.ToJsonString());
        Assert.Contains("recolor_intensity", modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
    }

    private static PromptConversion ConvertPrompt(ComfyFolders folders, JsonObject inputs, string classType) => ApiPromptConverter.Convert(new JsonObject
    {
        ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = "strokes.png" } },
        ["2"] = new JsonObject { ["class_type"] = classType, ["inputs"] = inputs },
        ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "aio" } },
    }, folders, requireFiles: false);

    // The workflow without what names the posted class: the titles, and the save node's ComfyUI metadata (the prompt as posted).
    private static string Untitled(Workflow workflow) =>
        string.Join("\n", WorkflowYamlWriter.Write(workflow).Split('\n')
            .Where(l => !l.TrimStart().StartsWith("title:", StringComparison.Ordinal) && !l.TrimStart().StartsWith("metadata:", StringComparison.Ordinal)));

    private static void Parameters(ComfyFolders folders, string name, string node, params (string Name, object Value)[] expected)
    {
        var workflow = ConvertPrompt(folders, new JsonObject { ["image"] = new JsonArray("1", 0), ["preprocessor"] = name, ["resolution"] = 192 }, ApiPromptConverter.AioPreprocessorClass).Workflow!;
        var converted = workflow.Node("n2")!;
        Assert.Equal(node, converted.Type);
        foreach (var (parameter, value) in expected)
            Assert.Equal(value, ((LiteralValue)converted.Parameter(parameter)!.Value).Value);
    }

    private static JsonObject Prompt(string image, string preprocessor) => new()
    {
        ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = image } },
        ["2"] = new JsonObject
        {
            ["class_type"] = ApiPromptConverter.AioPreprocessorClass,
            ["inputs"] = new JsonObject { ["image"] = new JsonArray("1", 0), ["preprocessor"] = preprocessor, ["resolution"] = 64 },
        },
        ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "aio" } },
    };

    private static async Task<byte[]> RunAioAsync(ComfyHost host, string image, string preprocessor) =>
        ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Prompt(image, preprocessor)));

    private static async Task<(string Name, int Height, int Width, byte[] Rgb)> UploadImageAsync(ComfyHost host) =>
        (await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng()), Height, Width, Rgb);

    private static JsonElement Image => Oracle.GetProperty("image");

    private static int Height => Image.GetProperty("height").GetInt32();

    private static int Width => Image.GetProperty("width").GetInt32();

    private static byte[] Rgb => Image.GetProperty("rgb_hwc").GetBytesFromBase64();

    private static byte[] ImagePng()
    {
        var rgb = Rgb;
        using var bitmap = new SKBitmap(Width, Height);
        for (var i = 0; i < Width * Height; i++) bitmap.SetPixel(i % Width, i / Width, new SKColor(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
