using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's ShufflePreprocessor (also through AIO_Preprocessor), and sd-webui-controlnet's shuffle and
/// blur_gaussian modules (a txt2img unit's detected map, /controlnet/detect) against tools/reference/make_shuffle.py (numpy
/// 1.24's generators and OpenCV 4.6): the images byte for byte, the numpy seed the extension sets (seed + subseed) and
/// out-of-range inputs named.
/// </summary>
public sealed class ShuffleMappingTests : IDisposable
{
    private const string Model = "control_v11e_sd15_shuffle";

    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "content-shuffle.json"))).RootElement;

    private readonly CheckpointHome _home = new("fd-shuffle-");

    public ShuffleMappingTests()
    {
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "controlnet", "control-ldm-fp16.safetensors"), $"controlnet/{Model}.safetensors");
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task ShufflePreprocessor_draws_auxs_image_for_a_seed_and_seed_0_as_after_np_random_seed_0_also_through_AIO()
    {
        await using var host = await ComfyHost.StartAsync();
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "pattern.png", ImagePng());
        var shuffles = Oracle.GetProperty("shuffles");
        AssertBytes(shuffles[0], await RunAsync(host, Prompt(name, "ShufflePreprocessor", new JsonObject { ["resolution"] = 64, ["seed"] = 1 })), "seed 1");
        AssertBytes(shuffles[2], await RunAsync(host, Prompt(name, "ShufflePreprocessor", new JsonObject { ["resolution"] = 64 })), "seed 0");
        AssertBytes(shuffles[2], await RunAsync(host, Prompt(name, ApiPromptConverter.AioPreprocessorClass, new JsonObject { ["preprocessor"] = "ShufflePreprocessor", ["resolution"] = 64 })), "AIO");
        Assert.NotEqual(shuffles[0].GetProperty("output").GetString(), shuffles[2].GetProperty("output").GetString());
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/ShufflePreprocessor"))!["ShufflePreprocessor"]!;
        Assert.Equal(["resolution", "seed"], info["input"]!["optional"]!.AsObject().Select(p => p.Key));
        Assert.Equal(18446744073709551615d, info["input"]!["optional"]!["seed"]![1]!["max"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("ShufflePreprocessor", "seed", -1, "value_smaller_than_min")]
    [InlineData("ShufflePreprocessor", "resolution", 32, "value_smaller_than_min")]
    [InlineData(ApiPromptConverter.A1111ShuffleClass, "seed", 4294967296, "value_bigger_than_max")]
    [InlineData(ApiPromptConverter.A1111BlurGaussianClass, "sigma", 0, "value_smaller_than_min")]
    [InlineData(ApiPromptConverter.A1111BlurGaussianClass, "sigma", 65, "value_bigger_than_max")]
    public async Task Out_of_range_inputs_are_node_errors_naming_the_input(string classType, string input, double value, string type)
    {
        await using var host = await ComfyHost.StartAsync();
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "pattern.png", ImagePng());
        var (status, body) = await host.PostPromptAsync(Prompt(name, classType, new JsonObject { [input] = value }));
        Assert.Equal(400, status);
        var error = body["node_errors"]!["2"]!["errors"]![0]!;
        Assert.Equal(type, error["type"]!.GetValue<string>());
        Assert.Equal(input, error["extra_info"]!["input_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_shuffle_unit_shuffles_after_np_random_seed_of_seed_plus_subseed_cropped_first()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        // Pixel perfect at 80 × 64 gives resolution 64; the extension's numpy seed is 42 + 42 (subseed −1: the seed).
        var answer = await A1111Client.GenerateAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = "a cat", ["steps"] = 1, ["cfg_scale"] = 4, ["width"] = 80, ["height"] = 64, ["seed"] = 42, ["sampler_name"] = "Euler",
            ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "sd1-tiny" },
            ["alwayson_scripts"] = new JsonObject
            {
                ["controlnet"] = new JsonObject
                {
                    ["args"] = new JsonArray(new JsonObject
                    {
                        ["enabled"] = true, ["module"] = "shuffle", ["model"] = Model, ["image"] = Convert.ToBase64String(ImagePng()), ["pixel_perfect"] = true,
                    }),
                },
            },
        });
        Assert.Equal(2, answer["images"]!.AsArray().Count);
        var shuffled = Oracle.GetProperty("shuffles")[3];
        Assert.Equal(("extension", "84", 64), (shuffled.GetProperty("source").GetString(), shuffled.GetProperty("seed").GetString(), shuffled.GetProperty("resolution").GetInt32()));
        AssertBytes(shuffled, ClassMappingTests.Pixels(A1111Client.Png(answer, 1)), "unit's detected map");
        Assert.Equal(84u, FlowDiffusion.Comfy.A1111.A1111ControlNet.NumpySeed(42));
        Assert.Equal(2u, FlowDiffusion.Comfy.A1111.A1111ControlNet.NumpySeed(2147483649));
    }

    [Fact]
    public async Task Detect_runs_blur_gaussian_at_the_sigma_slider_and_shuffle_at_its_hidden_512()
    {
        await using var host = await ComfyHost.StartAsync();
        var png = Convert.ToBase64String(ImagePng());
        var blur = Oracle.GetProperty("blur_gaussian");
        // Sigma 9 sent, and 100 (outside the slider: its default, 9).
        foreach (var sigma in new[] { 9.0, 100 })
        {
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = "blur_gaussian", ["controlnet_input_images"] = new JsonArray(png), ["controlnet_processor_res"] = 64, ["controlnet_threshold_a"] = sigma,
            });
            Assert.True(status == 200, body.ToJsonString());
            AssertBytes(blur, ClassMappingTests.Pixels(Convert.FromBase64String(body["images"]![0]!.GetValue<string>())), $"blur_gaussian sigma {sigma}");
        }

        // processor_res 64 is outside the hidden slider (0 … 1): 512, as the extension resets it; detect seeds numpy with 0.
        var (code, answer) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
        {
            ["controlnet_module"] = "shuffle", ["controlnet_input_images"] = new JsonArray(png), ["controlnet_processor_res"] = 64,
        });
        Assert.True(code == 200, answer.ToJsonString());
        using var map = SKBitmap.Decode(Convert.FromBase64String(answer["images"]![0]!.GetValue<string>()))!;
        Assert.Equal((640, 512), (map.Width, map.Height));
        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        Assert.Equal("[]", modules["module_detail"]!["shuffle"]!["sliders"]!.ToJsonString());
        Assert.Equal("""[{"name":"Resolution","value":512,"min":64,"max":2048,"step":8},{"name":"Sigma","value":9,"min":0.01,"max":64,"step":0.01}]""",
            modules["module_detail"]!["blur_gaussian"]!["sliders"]!.ToJsonString());
    }

    private static JsonObject Prompt(string image, string classType, JsonObject inputs)
    {
        inputs["image"] = new JsonArray("1", 0);
        return new JsonObject
        {
            ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = image } },
            ["2"] = new JsonObject { ["class_type"] = classType, ["inputs"] = inputs },
            ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "shuffle" } },
        };
    }

    private static async Task<byte[]> RunAsync(ComfyHost host, JsonObject prompt) => ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));

    private static void AssertBytes(JsonElement c, byte[] got, string label)
    {
        var expected = c.GetProperty("output").GetBytesFromBase64();
        Assert.True(got.Length == expected.Length, $"{label}: {got.Length} values, want {expected.Length}");
        var wrong = expected.Where((e, i) => got[i] != e).Count();
        Assert.True(wrong == 0, $"{label}: {wrong} of {expected.Length} values differ");
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
}
