using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's AnyLineArtPreprocessor_aux through /prompt runs MTEED.pth from models/annotators (make_teed.py's
/// deterministic weights in TED's layout, which MTEED shares) and standard lineart, and saves make_anyline.py's map within
/// one level (the PNG's truncation) except where TEED's level differs (at most 1 pixel in 1000); /object_info declares aux's
/// inputs; missing files and widgets out of range are node errors naming them. sd-webui-controlnet's t2ia_sketch_pidi
/// through /controlnet/detect is softedge_pidinet's map thresholded at 0.5.
/// </summary>
public sealed class AnylineMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "anyline-reference.json"))).RootElement;

    // A models folder whose annotators hold MTEED.pth (written once per machine, so the converted graph stays cached).
    private static string ModelsFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "anyline-1", "models");
        TorchSaveFile.WriteOnce(Path.Combine(folder, "annotators", ApiPromptConverter.MteedWeightsFile), staging => TeedWeights.Write(staging));
        return folder;
    }

    [Fact]
    public async Task AnyLineArtPreprocessor_aux_saves_the_references_maps()
    {
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = ModelsFolder() });
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", SoftEdgeReferences.ImagePng(Oracle));
        foreach (var c in Oracle.GetProperty("pipeline").EnumerateArray())
        {
            var inputs = new JsonObject { ["image"] = new JsonArray("1", 0), ["resolution"] = c.GetProperty("resolution").GetInt32() };
            // aux's defaults (0, 1, 36, 1) are left out; the others are sent.
            if (c.GetProperty("lower").GetDouble() != 0) inputs["lineart_lower_bound"] = c.GetProperty("lower").GetDouble();
            if (c.GetProperty("upper").GetDouble() != 1) inputs["lineart_upper_bound"] = c.GetProperty("upper").GetDouble();
            if (c.GetProperty("min_size").GetInt32() != 36) inputs["object_min_size"] = c.GetProperty("min_size").GetInt32();
            if (c.GetProperty("connectivity").GetInt32() != 1) inputs["object_connectivity"] = c.GetProperty("connectivity").GetInt32();
            var prompt = new JsonObject
            {
                ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
                ["2"] = new JsonObject { ["class_type"] = "AnyLineArtPreprocessor_aux", ["inputs"] = inputs },
                ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "anyline" } },
            };
            var got = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
            var bytes = c.GetProperty("output").GetBytesFromBase64();
            var expected = new float[bytes.Length / 4];
            Buffer.BlockCopy(bytes, 0, expected, 0, bytes.Length);
            Assert.Equal(3 * expected.Length, got.Length);
            int wrong = 0, changed = 0;
            for (var p = 0; p < expected.Length; p++)
            {
                var level = Math.Clamp(expected[p] * 255f, 0f, 255f);
                if (Enumerable.Range(0, 3).Any(ch => Math.Abs(got[3 * p + ch] - level) > 1)) wrong++;
                if (level < 254 && got[3 * p] is > 0 and < 255) changed++;
            }

            Assert.True(wrong <= expected.Length / 1000, $"resolution {c.GetProperty("resolution")}: {wrong} of {expected.Length} pixels differ");
            Assert.True(changed > 0, $"resolution {c.GetProperty("resolution")}: no screened grey pixel, so the merge went unchecked");
        }

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/AnyLineArtPreprocessor_aux"))!["AnyLineArtPreprocessor_aux"]!["input"]!["optional"]!;
        Assert.Equal("""["lineart_standard","lineart_realisitic","lineart_anime","manga_line"]""", info["merge_with_lineart"]![0]!.ToJsonString());
        Assert.Equal("""{"default":1280,"min":64,"max":16384,"step":8}""", info["resolution"]![1]!.ToJsonString());
        Assert.Equal(36, info["object_min_size"]![1]!["default"]!.GetValue<int>());
        Assert.Equal(1, info["object_min_size"]![1]!["min"]!.GetValue<int>());
        Assert.Equal(1, info["object_connectivity"]![1]!["default"]!.GetValue<int>());
        Assert.Equal(1, info["lineart_upper_bound"]![1]!["default"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("", "MTEED.pth", "image")]
    [InlineData(""", "merge_with_lineart": "lineart_realisitic" """, "sk_model.pth", "merge_with_lineart")]
    [InlineData(""", "merge_with_lineart": "lineart_anime" """, "netG.pth", "merge_with_lineart")]
    [InlineData(""", "merge_with_lineart": "manga_line" """, "erika.pth", "merge_with_lineart")]
    public async Task A_missing_weights_file_is_a_node_error_naming_it(string inputs, string file, string field)
    {
        // MTEED.pth alone: the lineart models are missing; an empty folder: MTEED.pth is.
        var models = file == "MTEED.pth" ? Path.Combine(Path.GetTempPath(), "fd-anyline-none-" + Guid.NewGuid().ToString("N")) : ModelsFolder();
        Directory.CreateDirectory(Path.Combine(models, "annotators"));
        try
        {
            await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = models });
            var (status, body) = await PostAsync(host, inputs);
            Assert.True(status == 400, body.ToJsonString());
            var error = body["node_errors"]!["2"]!["errors"]![0]!;
            Assert.Contains(file, error["details"]!.GetValue<string>());
            Assert.Contains("models/annotators", error["details"]!.GetValue<string>());
            Assert.Equal(field, error["extra_info"]!["input_name"]!.GetValue<string>());
        }
        finally
        {
            if (file == "MTEED.pth") Directory.Delete(models, recursive: true);
        }
    }

    [Theory]
    [InlineData("object_min_size", "0")]
    [InlineData("object_connectivity", "0")]
    [InlineData("lineart_lower_bound", "-0.5")]
    [InlineData("lineart_upper_bound", "1.5")]
    [InlineData("resolution", "32")]
    [InlineData("merge_with_lineart", "\"lineart_realistic\"")]
    public async Task A_widget_out_of_range_is_a_node_error_naming_it(string input, string value)
    {
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = ModelsFolder() });
        var (status, body) = await PostAsync(host, $", \"{input}\": {value}");
        Assert.True(status == 400, body.ToJsonString());
        Assert.Equal(input, body["node_errors"]!["2"]!["errors"]![0]!["extra_info"]!["input_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Detect_t2ia_sketch_pidi_is_softedge_pidinets_map_thresholded_at_one_half()
    {
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = Path.GetDirectoryName(Path.GetDirectoryName(PidinetWeights.Shared())) });
        var image = Convert.ToBase64String(SoftEdgeReferences.ImagePng(Oracle));
        async Task<byte[]> Detect(string module)
        {
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = module, ["controlnet_input_images"] = new JsonArray(image), ["controlnet_processor_res"] = 512,
            });
            Assert.True(status == 200, body.ToJsonString());
            return ClassMappingTests.Pixels(Convert.FromBase64String(body["images"]![0]!.GetValue<string>()));
        }

        var sketch = await Detect("t2ia_sketch_pidi");
        var plain = await Detect("softedge_pidinet");
        Assert.Equal(plain.Length, sketch.Length);
        Assert.All(sketch, v => Assert.True(v is 0 or 255, $"{v} is not black or white"));
        var wrong = Enumerable.Range(0, plain.Length).Count(i => plain[i] != 127 && sketch[i] != (plain[i] >= 128 ? 255 : 0));
        Assert.True(wrong == 0 && sketch.Contains((byte)255) && sketch.Contains((byte)0), $"{wrong} of {plain.Length} values differ");

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list?alias_names=true"))!;
        Assert.Contains("t2ia_sketch_pidi", modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Contains(A1111ControlNetModules.Sorted(new ComfyFolders(PidinetWeights.ModelsFolder, RepositoryRoot.Path, PidinetWeights.ModelsFolder)), m => m.Name == "pidinet_sketch");
    }

    private static async Task<(int Status, JsonNode Body)> PostAsync(ComfyHost host, string inputs)
    {
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", SoftEdgeReferences.ImagePng(Oracle));
        return await host.PostPromptAsync(Prompts.Parse($$"""
            {
              "1": { "class_type": "LoadImage", "inputs": { "image": "{{name}}" } },
              "2": { "class_type": "AnyLineArtPreprocessor_aux", "inputs": { "image": ["1", 0]{{(inputs.Contains("\"resolution\"", StringComparison.Ordinal) ? "" : ", \"resolution\": 64")}}{{inputs}} } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["2", 0], "filename_prefix": "anyline" } }
            }
            """));
    }
}
