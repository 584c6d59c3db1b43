using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.ClassMappingTests;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's LoadImageOutput (LoadImage's mapping, for ComfyUI's annotated names): an image a prompt saved, named as
/// /history lists it with " [output]", loads through /prompt pixel for pixel; "[temp]" names resolve in the output folder
/// too (PreviewImage's files), plain and "[input]" names in the upload folder; names that leave their folder, absent
/// files and a host without outputs are node errors naming image; /object_info gives ComfyUI's remote combo.
/// </summary>
public sealed class LoadImageOutputTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "fd-comfy-load-output-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task An_image_a_prompt_saved_loads_back_pixel_for_pixel_by_its_annotated_output_name()
    {
        await using var host = await ComfyHost.StartAsync();
        using var bitmap = new SKBitmap(16, 12);
        for (var y = 0; y < 12; y++)
            for (var x = 0; x < 16; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 16), (byte)(y * 20), (byte)((x * 7 + y * 13) % 256)));
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var uploaded = await UploadAsync(host, "/upload/image", "gradient.png", encoded.ToArray());
        var (status, body) = await host.PostPromptAsync(new JsonObject
        {
            ["1"] = Node("LoadImage", new JsonObject { ["image"] = uploaded }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "ComfyUI" }),
        });
        Assert.Equal(200, status);
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        var saved = history["outputs"]!["9"]!["images"]![0]!;
        Assert.Equal("output", saved["type"]!.GetValue<string>());
        var name = $"{saved["subfolder"]!.GetValue<string>()}/{saved["filename"]!.GetValue<string>()} [output]";

        var loaded = await RunForImageAsync(host, new JsonObject
        {
            ["1"] = Node("LoadImageOutput", new JsonObject { ["image"] = name, ["upload"] = "image" }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "again" }),
        });

        Assert.Equal(Pixels(encoded.ToArray()), Pixels(loaded));
    }

    [Fact]
    public void Names_resolve_in_the_folder_their_annotation_names_and_never_outside_it()
    {
        var (input, output) = (Path.Combine(_root, "input"), Path.Combine(_root, "outputs"));
        var png = Images.SolidPng(4, 4, SKColors.Red);
        foreach (var file in new[] { Path.Combine(input, "up.png"), Path.Combine(output, "run1", "ComfyUI_00001_.png"), Path.Combine(output, "run1", "ComfyUI_temp_00001_.png"), Path.Combine(_root, "secret.png") })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, png);
        }

        var folders = new ComfyFolders(Path.Combine(_root, "models"), _root, input) { OutputFolder = output };
        PromptConversion Convert(string image, ComfyFolders? on = null) => ApiPromptConverter.Convert(new JsonObject
        {
            ["1"] = Node("LoadImageOutput", new JsonObject { ["image"] = image }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0) }),
        }, on ?? folders);
        string Loaded(string image) => (string)((Engine.Workflows.LiteralValue)Convert(image).Workflow!.Node(ApiPromptConverter.NodeId("1"))!.Parameter("path")!.Value).Value!;

        Assert.Equal(Path.Combine(output, "run1", "ComfyUI_00001_.png"), Loaded("run1/ComfyUI_00001_.png [output]"));
        Assert.Equal(Path.Combine(output, "run1", "ComfyUI_temp_00001_.png"), Loaded("run1/ComfyUI_temp_00001_.png [temp]"));
        Assert.Equal(Path.Combine(input, "up.png"), Loaded("up.png"));
        Assert.Equal(Path.Combine(input, "up.png"), Loaded("up.png [input]"));

        foreach (var escape in new[] { "../secret.png [output]", "run1/../../secret.png [output]", $"{Path.Combine(_root, "secret.png")} [output]", "../secret.png", "up.png [output]",
                     "run1/missing.png [output]", "run1/ComfyUI_00001_.png" })
        {
            var (classType, errors) = Convert(escape).NodeErrors["1"];
            Assert.Equal("LoadImageOutput", classType);
            var error = Assert.Single(errors);
            Assert.Equal(("value_not_in_list", "image"), (error.Type, error.InputName));
        }

        var noOutputs = Assert.Single(Convert("run1/ComfyUI_00001_.png [output]", folders with { OutputFolder = null }).NodeErrors["1"].Errors);
        Assert.Contains("serves no outputs", noOutputs.Details);
    }

    [Fact]
    public async Task Object_info_describes_comfyuis_remote_combo_of_the_output_folder()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/LoadImageOutput"))!["LoadImageOutput"]!;
        var image = info["input"]!["required"]!["image"]!;

        Assert.Equal("COMBO", image[0]!.GetValue<string>());
        Assert.Equal("output", image[1]!["image_folder"]!.GetValue<string>());
        Assert.Equal("/internal/files/output", image[1]!["remote"]!["route"]!.GetValue<string>());
        Assert.Equal(["IMAGE", "MASK"], info["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("Load Image (from Outputs)", info["display_name"]!.GetValue<string>());
    }
}
