using System.Net;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Comfy.Conversion;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.ClassMappingTests;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's <c>GET /internal/files/{directory_type}</c> (LoadImageOutput's remote combo): the images saved through
/// /prompt are listed newest first as "&lt;run&gt;/&lt;file&gt;", and each name with the frontend's " [output]" loads back
/// through LoadImageOutput pixel for pixel; PreviewImage's files are the temp listing; uploads the input listing; only
/// images that can load back are listed (no other files, hidden, empty, linked or annotation-like names, nothing deeper
/// than the depth cap); the listed and visited caps hold; an unknown type is ComfyUI's 400.
/// </summary>
public sealed class InternalFilesRouteTests : IDisposable
{
    private readonly string outside = Path.Combine(Path.GetTempPath(), "fd-comfy-outside-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(outside)) Directory.Delete(outside, recursive: true);
    }

    [Fact]
    public async Task Saved_images_are_listed_newest_first_by_the_names_LoadImageOutput_loads_back()
    {
        await using var host = await ComfyHost.StartAsync();
        var gradient = Gradient(16, 12);
        var blue = Images.SolidPng(8, 8, SKColors.Blue);
        var first = await SaveAsync(host, await UploadAsync(host, "/upload/image", "gradient.png", gradient), preview: false);
        var second = await SaveAsync(host, await UploadAsync(host, "/upload/image", "blue.png", blue), preview: true);

        // The newest first; the runs' history files and the second run's preview are not outputs.
        Assert.Equal([second.Saved, first.Saved], await ListAsync(host, "output"));
        Assert.Equal([second.Preview!], await ListAsync(host, "temp"));

        // The frontend's value is the listed name with " [output]" (createAnnotatedPath with image_folder output).
        foreach (var (name, png) in new[] { (first.Saved, gradient), (second.Saved, blue) })
        {
            var loaded = await RunForImageAsync(host, new JsonObject
            {
                ["1"] = Node("LoadImageOutput", new JsonObject { ["image"] = name + " [output]", ["upload"] = "image" }),
                ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "again" }),
            });
            Assert.Equal(Pixels(png), Pixels(loaded));
        }

        // A preview loads back by its temp name too.
        var previewed = await RunForImageAsync(host, new JsonObject
        {
            ["1"] = Node("LoadImageOutput", new JsonObject { ["image"] = second.Preview + " [temp]" }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "again" }),
        });
        Assert.Equal(Pixels(blue), Pixels(previewed));
    }

    [Fact]
    public async Task Only_images_that_load_back_are_listed_never_through_links_nor_below_the_depth_cap()
    {
        await using var host = await ComfyHost.StartAsync();
        var output = Path.Combine(host.Root, "outputs");
        var png = Images.SolidPng(4, 4, SKColors.Red);
        var at = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        void Place(string relative, byte[] bytes, int minutes, string? root = null)
        {
            var path = Path.Combine(root ?? output, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            File.SetLastWriteTimeUtc(path, at.AddMinutes(minutes));
        }

        Place("top.webp", png, 1);
        Place("run1/ComfyUI_00001_.png", png, 5);
        Place("run1/UPPER.PNG", png, 7);
        Place("run2/photo.jpeg", png, 3);
        Place("run2/ComfyUI_temp_00001_.png", png, 9);
        Place("a/b/c/d/depth4.gif", png, 2);
        foreach (var other in new[] { "run2/comfyui-history.json", "run2/x.latent", "run2/model.safetensors", "run2/notes.txt", "run2/.hidden.png",
                     ".cache/inside.png", "run2/part.png.part", "run2/shot [temp].png", "run2 [input]/shot.png", "a/b/c/d/e/depth5.png" })
            Place(other, png, 20);
        Place("run2/reserved.png", [], 20);
        // Links to images outside the folder, as a file and as a folder: neither is listed nor walked.
        Place("secret.png", png, 30, outside);
        File.CreateSymbolicLink(Path.Combine(output, "run2", "linked.png"), Path.Combine(outside, "secret.png"));
        File.CreateSymbolicLink(Path.Combine(output, "run1", "own.png"), Path.Combine(output, "top.webp"));
        Directory.CreateSymbolicLink(Path.Combine(output, "escape"), outside);

        Assert.Equal(["run1/UPPER.PNG", "run1/ComfyUI_00001_.png", "run2/photo.jpeg", "a/b/c/d/depth4.gif", "top.webp"], await ListAsync(host, "output"));
        Assert.Equal(["run2/ComfyUI_temp_00001_.png"], await ListAsync(host, "temp"));

        // Every listed name resolves in its folder through the same resolver LoadImageOutput uses.
        var folders = new ComfyFolders(host.Root, host.Root, Path.Combine(host.Root, "data", "comfy-input")) { OutputFolder = output };
        foreach (var name in await ListAsync(host, "output"))
            Assert.Equal(Path.Combine(output, name), folders.ResolveAnnotated(name + " [output]"));
    }

    [Fact]
    public async Task Input_lists_uploads_newest_first_and_a_listed_name_loads_through_LoadImage()
    {
        await using var host = await ComfyHost.StartAsync();
        Assert.Empty(await ListAsync(host, "input"));
        var green = Images.SolidPng(6, 6, SKColors.Lime);
        var older = await UploadAsync(host, "/upload/image", "older.png", Images.SolidPng(6, 6, SKColors.Red));
        var newer = await UploadAsync(host, "/upload/image", "newer.png", green);
        var input = Path.Combine(host.Root, "data", "comfy-input");
        File.SetLastWriteTimeUtc(Path.Combine(input, older), new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Directory.CreateDirectory(Path.Combine(input, "pasted"));
        File.WriteAllBytes(Path.Combine(input, "pasted", "clip.png"), green);
        File.SetLastWriteTimeUtc(Path.Combine(input, "pasted", "clip.png"), new DateTime(2025, 6, 1, 0, 0, 0, DateTimeKind.Utc));
        File.WriteAllText(Path.Combine(input, "readme.txt"), "not an image");

        var names = await ListAsync(host, "input");
        Assert.Equal([newer, "pasted/clip.png", older], names);
        var loaded = await RunForImageAsync(host, new JsonObject
        {
            ["1"] = Node("LoadImage", new JsonObject { ["image"] = names[1] }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "again" }),
        });
        Assert.Equal(Pixels(green), Pixels(loaded));
    }

    [Fact]
    public async Task An_unknown_directory_type_is_comfyuis_400_naming_the_valid_types()
    {
        await using var host = await ComfyHost.StartAsync();
        foreach (var type in new[] { "models", "OUTPUT", "user" })
        {
            using var response = await host.Client.GetAsync($"/internal/files/{type}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>();
            Assert.Equal($"Invalid directory type '{type}': use output, input, temp", error);
        }
    }

    [Fact]
    public async Task The_listing_stops_at_the_newest_ten_thousand()
    {
        await using var host = await ComfyHost.StartAsync();
        var run = Path.Combine(host.Root, "outputs", "run");
        Directory.CreateDirectory(run);
        var total = ComfyFileList.MaxListed + 3;
        for (var i = 0; i < total; i++) File.WriteAllBytes(Path.Combine(run, $"ComfyUI_{i:00000}_.png"), [1]);
        // The files written now share a few clock ticks; three are made older and one newer than all of them.
        var old = new[] { "ComfyUI_00007_.png", "ComfyUI_05000_.png", "ComfyUI_09999_.png" };
        foreach (var name in old) File.SetLastWriteTimeUtc(Path.Combine(run, name), DateTime.UtcNow.AddDays(-1));
        File.SetLastWriteTimeUtc(Path.Combine(run, "ComfyUI_00004_.png"), DateTime.UtcNow.AddDays(1));

        var names = await ListAsync(host, "output");
        Assert.Equal(ComfyFileList.MaxListed, names.Count);
        Assert.Equal("run/ComfyUI_00004_.png", names[0]);
        Assert.Empty(names.Intersect(old.Select(n => "run/" + n)));
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void A_walk_cut_short_by_the_visit_cap_has_seen_the_most_recently_changed_folders()
    {
        Directory.CreateDirectory(outside);
        var at = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        foreach (var (run, minutes) in new[] { ("old", 1), ("new", 2) })
        {
            for (var i = 0; i < 3; i++)
            {
                var path = Path.Combine(outside, run, $"{i}.png");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, [1]);
                File.SetLastWriteTimeUtc(path, at.AddMinutes(minutes).AddSeconds(i));
            }

            Directory.SetLastWriteTimeUtc(Path.Combine(outside, run), at.AddMinutes(minutes).AddSeconds(10));
        }

        // The root's two folders and the newer folder's three files: five entries.
        Assert.Equal(["new/2.png", "new/1.png", "new/0.png"], ComfyFileList.List(outside, _ => true, maxVisited: 5));
        // One entry more: one file of the older folder (whichever the file system gives first).
        var six = ComfyFileList.List(outside, _ => true, maxVisited: 6);
        Assert.Equal(["new/2.png", "new/1.png", "new/0.png"], six.Take(3));
        Assert.StartsWith("old/", Assert.Single(six.Skip(3)));
        Assert.Equal(["new/2.png", "new/1.png"], ComfyFileList.List(outside, _ => true, maxListed: 2));
        Assert.Empty(ComfyFileList.List(outside, _ => true, maxDepth: 0));
    }

    private static async Task<List<string>> ListAsync(ComfyHost host, string type)
    {
        using var response = await host.Client.GetAsync($"/internal/files/{type}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!.AsArray().Select(n => n!.GetValue<string>()).ToList();
    }

    // LoadImage of an upload → SaveImage (and PreviewImage): the saved (and previewed) names as "subfolder/filename", as /history lists them.
    private static async Task<(string Saved, string? Preview)> SaveAsync(ComfyHost host, string upload, bool preview)
    {
        var prompt = new JsonObject
        {
            ["1"] = Node("LoadImage", new JsonObject { ["image"] = upload }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("1", 0), ["filename_prefix"] = "ComfyUI" }),
        };
        if (preview) prompt["8"] = Node("PreviewImage", new JsonObject { ["images"] = Link("1", 0) });
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 200, body.ToJsonString());
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        Assert.True(history["status"]!["status_str"]!.GetValue<string>() == "success", history["status"]!.ToJsonString());
        static string Name(JsonNode image) => $"{image["subfolder"]!.GetValue<string>()}/{image["filename"]!.GetValue<string>()}";
        return (Name(history["outputs"]!["9"]!["images"]![0]!), preview ? Name(history["outputs"]!["8"]!["images"]![0]!) : null);
    }

    private static byte[] Gradient(int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 16), (byte)(y * 20), (byte)((x * 7 + y * 13) % 256)));
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }
}
