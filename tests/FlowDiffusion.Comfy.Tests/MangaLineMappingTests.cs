using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Comfy.Tests.A1111;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// comfyui_controlnet_aux's Manga2Anime_LineArt_Preprocessor through /prompt and sd-webui-controlnet's lineart_anime_denoise
/// through /controlnet/detect run erika.pth from models/annotators (make_manga_line.py's deterministic weights in
/// res_skip's layout) and draw make_manga_line.py's aux and extension maps within one level at no more than 1 pixel in
/// 100; without the file the class is a node error naming it and the module is not offered.
/// </summary>
public sealed class MangaLineMappingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "manga-line-reference.json"))).RootElement;

    private static Dictionary<string, string?> Settings() => new() { ["FlowDiffusion:ModelsFolder"] = Path.GetDirectoryName(Path.GetDirectoryName(MangaLineWeights.Shared())) };

    [Fact]
    public async Task Manga2Anime_LineArt_Preprocessor_draws_auxs_map_at_the_resolution_rounded_up_to_256()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "strokes.png", ImagePng());
        var c = Case("aux", 64);
        var prompt = new JsonObject
        {
            ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
            ["2"] = new JsonObject { ["class_type"] = "Manga2Anime_LineArt_Preprocessor", ["inputs"] = new JsonObject { ["image"] = new JsonArray("1", 0), ["resolution"] = 64 } },
            ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("2", 0), ["filename_prefix"] = "manga" } },
        };
        SoftEdgeReferences.AssertMap(c, await ClassMappingTests.RunForImageAsync(host, prompt), "Manga2Anime_LineArt_Preprocessor 64", outOf: 100);

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/Manga2Anime_LineArt_Preprocessor"))!["Manga2Anime_LineArt_Preprocessor"]!;
        Assert.Equal("Manga Lineart (aka lineart_anime_denoise)", info["display_name"]!.GetValue<string>());
        Assert.Equal(["resolution"], info["input"]!["optional"]!.AsObject().Select(p => p.Key));
        Assert.Equal(512, info["input"]!["optional"]!["resolution"]![1]!["default"]!.GetValue<int>());
    }

    [Fact]
    public async Task Detect_lineart_anime_denoise_draws_the_extensions_maps_at_its_processor_resolution()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings());
        var image = Convert.ToBase64String(ImagePng());
        foreach (var resolution in new[] { 64, 128 })
        {
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = "lineart_anime_denoise", ["controlnet_input_images"] = new JsonArray(image), ["controlnet_processor_res"] = resolution,
            });
            Assert.True(status == 200, body.ToJsonString());
            SoftEdgeReferences.AssertMap(Case("webui", resolution), Convert.FromBase64String(body["images"]![0]!.GetValue<string>()), $"lineart_anime_denoise {resolution}", outOf: 100);
        }

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list?alias_names=true"))!;
        Assert.Contains("lineart_anime_denoise", modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("""[{"name":"Resolution","value":512,"min":64,"max":2048,"step":8}]""", modules["module_detail"]!["lineart_anime_denoise"]!["sliders"]!.ToJsonString());
    }

    [Fact]
    public async Task Without_erika_pth_the_class_is_a_node_error_naming_it_and_the_module_is_not_offered()
    {
        var empty = Path.Combine(Path.GetTempPath(), "fd-manga-none-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(empty, "annotators"));
        try
        {
            Assert.DoesNotContain(A1111ControlNetModules.Sorted(new ComfyFolders(empty, RepositoryRoot.Path, empty)), m => m.Name == "lineart_anime_denoise");
            Assert.Contains(A1111ControlNetModules.Sorted(new ComfyFolders(MangaLineWeights.ModelsFolder, RepositoryRoot.Path, empty)), m => m.Name == "lineart_anime_denoise");
            await AnnotatorAbsence.AssertRefusedAsync(empty, "Manga2Anime_LineArt_Preprocessor", "", "erika.pth", "lineart_anime_denoise", ImagePng());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    private static JsonElement Case(string variant, int resolution) => Oracle.GetProperty("cases").EnumerateArray()
        .Single(c => c.GetProperty("variant").GetString() == variant && c.GetProperty("resolution").GetInt32() == resolution);

    private static byte[] ImagePng() => SoftEdgeReferences.ImagePng(Oracle);
}
