using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.ClassMappingTests;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's ImageColorToMask, Morphology, ImageRGBToYUV / ImageYUVToRGB, PorterDuffImageComposite and Split/JoinImageWithAlpha
/// through /prompt (ImageStitch and ResizeAndPadImage converted; their layouts are pinned in ImageStitchTests): an uploaded byte-valued image's morphology equals the torch implementation of kornia's definition
/// (tools/reference/make_kornia_morphology.py) byte for byte, the colour mask the pixels of that colour, the YUV round trip
/// the reference, and the compositing nodes closed forms worked out from ComfyUI's formulas.
/// </summary>
public sealed class ImageFilterMappingTests
{
    private static readonly JsonElement Reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Imaging.Tests", "TestData", "kornia-morphology.json")))
        .RootElement.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "bytes");

    private static readonly int Height = Reference.GetProperty("height").GetInt32(), Width = Reference.GetProperty("width").GetInt32();

    [Fact]
    public async Task Morphology_and_ImageColorToMask_of_an_uploaded_image_equal_the_reference()
    {
        var rgb = Bytes(Reference.GetProperty("rgb"));
        await using var host = await ComfyHost.StartAsync();
        var name = await UploadAsync(host, "/upload/image", "blocks.png", Png(rgb));

        foreach (var oracle in Reference.GetProperty("cases").EnumerateArray().Where(c => c.GetProperty("kernel_size").GetInt32() is 4 or 999))
        {
            var (operation, size) = (oracle.GetProperty("operation").GetString()!, oracle.GetProperty("kernel_size").GetInt32());
            var prompt = new JsonObject
            {
                ["1"] = Node("LoadImage", new JsonObject { ["image"] = name }),
                ["2"] = Node("Morphology", new JsonObject { ["image"] = Link("1", 0), ["operation"] = operation, ["kernel_size"] = size }),
                ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("2", 0), ["filename_prefix"] = "morphology" }),
            };
            Assert.Equal(Bytes(oracle.GetProperty("result")), Planar(await RunForImageAsync(host, prompt)));
        }

        // The colour of the pixel at (row 4, column 7), drawn 255 in all channels, and of the block at the top left.
        foreach (var (y, x) in new[] { (4, 7), (0, 0) })
        {
            var at = y * Width + x;
            var colour = (rgb[at] << 16) + (rgb[Height * Width + at] << 8) + rgb[2 * Height * Width + at];
            var prompt = new JsonObject
            {
                ["1"] = Node("LoadImage", new JsonObject { ["image"] = name }),
                ["2"] = Node("ImageColorToMask", new JsonObject { ["image"] = Link("1", 0), ["color"] = colour }),
                ["3"] = Node("MaskToImage", new JsonObject { ["mask"] = Link("2", 0) }),
                ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("3", 0), ["filename_prefix"] = "colour" }),
            };
            var mask = Planar(await RunForImageAsync(host, prompt));
            var expected = Enumerable.Range(0, Height * Width)
                .Select(i => (rgb[i] << 16) + (rgb[Height * Width + i] << 8) + rgb[2 * Height * Width + i] == colour ? (byte)255 : (byte)0).ToArray();
            Assert.Equal(expected, mask.AsSpan(0, Height * Width).ToArray());
            Assert.Contains(expected, v => v == 255);
        }

        var errors = new JsonObject
        {
            ["1"] = Node("LoadImage", new JsonObject { ["image"] = name }),
            ["2"] = Node("Morphology", new JsonObject { ["image"] = Link("1", 0), ["operation"] = "erode", ["kernel_size"] = 2 }),
            ["3"] = Node("ImageColorToMask", new JsonObject { ["image"] = Link("1", 0), ["color"] = 0x1000000 }),
            ["4"] = Node("MaskToImage", new JsonObject { ["mask"] = Link("3", 0) }),
            ["8"] = Node("SaveImage", new JsonObject { ["images"] = Link("2", 0), ["filename_prefix"] = "errors" }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("4", 0), ["filename_prefix"] = "errors" }),
        };
        var (status, body) = await host.PostPromptAsync(errors);
        Assert.Equal(400, status);
        Assert.Equal("value_smaller_than_min", body["node_errors"]!["2"]!["errors"]![0]!["type"]!.GetValue<string>());
        Assert.Equal("value_bigger_than_max", body["node_errors"]!["3"]!["errors"]![0]!["type"]!.GetValue<string>());

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        var kernel = info["Morphology"]!["input"]!["required"]!["kernel_size"]![1]!;
        Assert.Equal((3, 3, 999), (kernel["default"]!.GetValue<int>(), kernel["min"]!.GetValue<int>(), kernel["max"]!.GetValue<int>()));
        Assert.Equal(0xFFFFFF, info["ImageColorToMask"]!["input"]!["required"]!["color"]![1]!["max"]!.GetValue<int>());
        Assert.Equal("DST", info["PorterDuffImageComposite"]!["input"]!["required"]!["mode"]![1]!["default"]!.GetValue<string>());
        Assert.Equal(["Y", "U", "V"], info["ImageRGBToYUV"]!["output_name"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["IMAGE", "MASK"], info["SplitImageWithAlpha"]!["output"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public async Task The_yuv_round_trip_of_an_uploaded_image_equals_the_reference()
    {
        await using var host = await ComfyHost.StartAsync();
        var name = await UploadAsync(host, "/upload/image", "blocks.png", Png(Bytes(Reference.GetProperty("rgb"))));
        var prompt = new JsonObject
        {
            ["1"] = Node("LoadImage", new JsonObject { ["image"] = name }),
            ["2"] = Node("ImageRGBToYUV", new JsonObject { ["image"] = Link("1", 0) }),
            ["3"] = Node("ImageYUVToRGB", new JsonObject { ["Y"] = Link("2", 0), ["U"] = Link("2", 1), ["V"] = Link("2", 2) }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("3", 0), ["filename_prefix"] = "yuv" }),
        };
        var expected = Bytes(Reference.GetProperty("rgb_again"));
        var actual = Planar(await RunForImageAsync(host, prompt));
        // Rounding to bytes may fall either side of a half where float32 sums differ in the last place.
        Assert.All(Enumerable.Range(0, expected.Length), i => Assert.InRange(actual[i] - expected[i], -1, 1));
        Assert.True(Enumerable.Range(0, expected.Length).Count(i => actual[i] != expected[i]) <= expected.Length / 100);

        // U alone, saved: a grey image, 0.5 + 0.564 (B − Y) in all three channels.
        prompt["9"]!["inputs"]!["images"] = Link("2", 1);
        var u = Planar(await RunForImageAsync(host, prompt));
        var plane = Height * Width;
        var yuv = Reference.GetProperty("yuv").GetBytesFromBase64();
        for (var i = 0; i < plane; i++)
        {
            var want = (byte)Math.Round(BitConverter.ToSingle(yuv, 4 * (plane + i)) * 255);
            Assert.Equal((want, want, want), (u[i], u[plane + i], u[2 * plane + i]));
        }
    }

    [Fact]
    public async Task PorterDuff_composites_by_the_mode_at_the_destinations_size_and_gives_the_mask()
    {
        // Source (0.8, 0.4, 0) 8×8 at mask 0.5 (alpha 0.5) over destination (0.4, 0.8, 0.2) 16×12 at mask 0.75 (alpha 0.25):
        // SRC_OVER = (0.5 s + 0.5 · 0.25 d) / 0.625 = 0.8 s + 0.2 d = (0.72, 0.48, 0.04) → (184, 122, 10); mask 1 − 0.625 → 96.
        await using var host = await ComfyHost.StartAsync();
        var prompt = new JsonObject
        {
            ["1"] = Node("EmptyImage", new JsonObject { ["width"] = 8, ["height"] = 8, ["batch_size"] = 1, ["color"] = 0xCC6600 }),
            ["2"] = Node("SolidMask", new JsonObject { ["value"] = 0.5, ["width"] = 8, ["height"] = 8 }),
            ["3"] = Node("EmptyImage", new JsonObject { ["width"] = 16, ["height"] = 12, ["batch_size"] = 1, ["color"] = 0x66CC33 }),
            ["4"] = Node("SolidMask", new JsonObject { ["value"] = 0.75, ["width"] = 5, ["height"] = 7 }),
            ["5"] = Node("PorterDuffImageComposite", new JsonObject
            {
                ["source"] = Link("1", 0), ["source_alpha"] = Link("2", 0), ["destination"] = Link("3", 0), ["destination_alpha"] = Link("4", 0), ["mode"] = "SRC_OVER",
            }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("5", 0), ["filename_prefix"] = "porter-duff" }),
        };
        var (r, g, b, width, height) = Images.Mean(await RunForImageAsync(host, prompt));
        Assert.Equal((16, 12), (width, height));
        Assert.Equal((184 / 255.0, 122 / 255.0, 10 / 255.0), (r, g, b));

        prompt["6"] = Node("MaskToImage", new JsonObject { ["mask"] = Link("5", 1) });
        prompt["9"]!["inputs"]!["images"] = Link("6", 0);
        var (mask, _, _, _, _) = Images.Mean(await RunForImageAsync(host, prompt));
        Assert.Equal(96 / 255.0, mask);
    }

    [Fact]
    public async Task Split_gives_back_the_alpha_Join_attached_and_an_opaque_mask_for_other_images()
    {
        // Join a 0.25 mask of another size (resized bilinearly: still 0.25 → 64) to a 12×10 image, then split it again.
        await using var host = await ComfyHost.StartAsync();
        var prompt = new JsonObject
        {
            ["1"] = Node("EmptyImage", new JsonObject { ["width"] = 12, ["height"] = 10, ["batch_size"] = 1, ["color"] = 0x336699 }),
            ["2"] = Node("SolidMask", new JsonObject { ["value"] = 0.25, ["width"] = 5, ["height"] = 4 }),
            ["3"] = Node("JoinImageWithAlpha", new JsonObject { ["image"] = Link("1", 0), ["alpha"] = Link("2", 0) }),
            ["4"] = Node("SplitImageWithAlpha", new JsonObject { ["image"] = Link("3", 0) }),
            ["5"] = Node("MaskToImage", new JsonObject { ["mask"] = Link("4", 1) }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("5", 0), ["filename_prefix"] = "alpha" }),
        };
        var (mask, _, _, width, height) = Images.Mean(await RunForImageAsync(host, prompt));
        Assert.Equal((64 / 255.0, 12, 10), (mask, width, height));

        prompt["9"]!["inputs"]!["images"] = Link("4", 0);
        Assert.Equal((0x33 / 255.0, 0x66 / 255.0, 0x99 / 255.0), Rgb(await RunForImageAsync(host, prompt)));

        // An image without alpha splits into itself and a mask of 0 (opaque).
        prompt["4"]!["inputs"]!["image"] = Link("1", 0);
        prompt["9"]!["inputs"]!["images"] = Link("5", 0);
        Assert.Equal(0, Images.Mean(await RunForImageAsync(host, prompt)).R);
    }

    [Fact]
    public void A_joined_image_read_by_any_node_but_Split_warns_that_only_its_colours_are_used()
    {
        var prompt = new JsonObject
        {
            ["1"] = Node("EmptyImage", new JsonObject { ["width"] = 8, ["height"] = 8, ["batch_size"] = 1, ["color"] = 0 }),
            ["2"] = Node("SolidMask", new JsonObject { ["value"] = 0.3, ["width"] = 8, ["height"] = 8 }),
            ["3"] = Node("JoinImageWithAlpha", new JsonObject { ["image"] = Link("1", 0), ["alpha"] = Link("2", 0) }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("3", 0), ["filename_prefix"] = "rgba" }),
        };
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

        var conversion = ApiPromptConverter.Convert(prompt, folders);

        Assert.Empty(conversion.NodeErrors);
        var warning = Assert.Single(conversion.Warnings);
        Assert.Contains("node 9 (SaveImage): images is an image JoinImageWithAlpha gave an alpha", warning, StringComparison.Ordinal);
        Assert.Equal("image.alpha", conversion.Workflow!.Node(conversion.Workflow.Node(ApiPromptConverter.NodeId("9"))!.Edge("images")!.SourceNode)!.Type);
    }

    [Fact]
    public void ImageStitch_and_ResizeAndPadImage_convert_with_their_settings_and_ranges()
    {
        var prompt = new JsonObject
        {
            ["1"] = Node("EmptyImage", new JsonObject { ["width"] = 8, ["height"] = 8, ["batch_size"] = 1, ["color"] = 0 }),
            ["2"] = Node("ImageStitch", new JsonObject
            {
                ["image1"] = Link("1", 0), ["direction"] = "left", ["match_image_size"] = false, ["spacing_width"] = 6, ["spacing_color"] = "green",
            }),
            ["3"] = Node("ResizeAndPadImage", new JsonObject
            {
                ["image"] = Link("2", 0), ["target_width"] = 64, ["target_height"] = 32, ["padding_color"] = "black", ["interpolation"] = "lanczos",
            }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("3", 0), ["filename_prefix"] = "layout" }),
        };
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

        var conversion = ApiPromptConverter.Convert(prompt, folders);

        Assert.Empty(conversion.NodeErrors);
        var stitch = conversion.Workflow!.Node(ApiPromptConverter.NodeId("2"))!;
        Assert.Equal("image.stitch", stitch.Type);
        Assert.Null(stitch.Edge("image2"));
        Assert.Equal(("left", false, 6L, "green"), (Literal<string>(stitch, "direction"), Literal<bool>(stitch, "match_image_size"), Literal<long>(stitch, "spacing_width"), Literal<string>(stitch, "spacing_color")));
        var pad = conversion.Workflow.Node(ApiPromptConverter.NodeId("3"))!;
        Assert.Equal(("image.resize_and_pad", stitch.Id, 64L, 32L, "black", "lanczos"),
            (pad.Type, pad.Edge("image")!.SourceNode, Literal<long>(pad, "target_width"), Literal<long>(pad, "target_height"), Literal<string>(pad, "padding_color"), Literal<string>(pad, "interpolation")));

        prompt["2"]!["inputs"]!["image2"] = Link("1", 0);
        prompt["2"]!["inputs"]!["spacing_width"] = 1026;
        prompt["3"]!["inputs"]!["target_width"] = 0;
        prompt["3"]!["inputs"]!["image"] = Link("1", 0);
        prompt["8"] = Node("SaveImage", new JsonObject { ["images"] = Link("2", 0), ["filename_prefix"] = "stitch" });
        conversion = ApiPromptConverter.Convert(prompt, folders);
        Assert.Equal("value_bigger_than_max", conversion.NodeErrors["2"].Errors[0].Type);
        Assert.Equal("value_smaller_than_min", conversion.NodeErrors["3"].Errors[0].Type);
    }

    private static T Literal<T>(WorkflowNode node, string parameter) => (T)((LiteralValue)node.Parameter(parameter)!.Value).Value!;

    private static (double, double, double) Rgb(byte[] png)
    {
        var (r, g, b, _, _) = Images.Mean(png);
        return (r, g, b);
    }

    // Float32 planar 0..1 values as bytes (the reference's k / 255 values, and its results on them, round exactly).
    private static byte[] Bytes(JsonElement base64)
    {
        var raw = base64.GetBytesFromBase64();
        return Enumerable.Range(0, raw.Length / 4).Select(i => (byte)Math.Round(Math.Clamp(BitConverter.ToSingle(raw, 4 * i), 0, 1) * 255)).ToArray();
    }

    private static byte[] Png(byte[] planar)
    {
        var plane = Height * Width;
        using var bitmap = new SKBitmap(Width, Height);
        for (var i = 0; i < plane; i++) bitmap.SetPixel(i % Width, i / Width, new SKColor(planar[i], planar[plane + i], planar[2 * plane + i]));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static byte[] Planar(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png)!;
        var plane = bitmap.Width * bitmap.Height;
        var planar = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
        {
            var c = bitmap.GetPixel(i % bitmap.Width, i / bitmap.Width);
            (planar[i], planar[plane + i], planar[2 * plane + i]) = (c.Red, c.Green, c.Blue);
        }

        return planar;
    }
}
