using System.Text.Json.Nodes;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.ClassMappingTests;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's MaskPreview through /prompt: an output node whose /history entry lists a temp-folder PNG, as PreviewImage's;
/// the PNG is the mask in grey — each channel round(255 · m) of the mask value m (a mask read from an uploaded image's
/// red channel, r / 255, so r itself, and SolidMask's 0, 0.2 and 1) — and the websocket's executed message carries it.
/// </summary>
public sealed class MaskPreviewTests
{
    [Fact]
    public async Task A_mask_previews_as_a_grey_temp_png_listed_in_history_and_the_executed_message_like_previewimage()
    {
        await using var host = await ComfyHost.StartAsync();
        await using var socket = await SocketClient.ConnectAsync(host.Address, "mask-client");
        using var bitmap = new SKBitmap(10, 6);
        for (var y = 0; y < 6; y++)
            for (var x = 0; x < 10; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 25 + y * 3), (byte)(255 - x * 20), 7));
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var name = await UploadAsync(host, "/upload/image", "red.png", encoded.ToArray());

        var (status, body) = await host.PostPromptAsync(new JsonObject
        {
            ["1"] = Node("LoadImageMask", new JsonObject { ["image"] = name, ["channel"] = "red" }),
            ["9"] = Node("MaskPreview", new JsonObject { ["mask"] = Link("1", 0) }),
        }, "mask-client");
        Assert.Equal(200, status);
        await socket.UntilDoneAsync(body["prompt_id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        Assert.Equal("success", history["status"]!["status_str"]!.GetValue<string>());
        var entry = Assert.Single(history["outputs"]!["9"]!["images"]!.AsArray())!;
        Assert.Equal("temp", entry["type"]!.GetValue<string>());
        Assert.StartsWith("ComfyUI_temp", entry["filename"]!.GetValue<string>());
        var executed = Assert.Single(socket.Messages, m => m["type"]!.GetValue<string>() == "executed");
        Assert.Equal("9", executed["data"]!["node"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(history["outputs"]!["9"], executed["data"]!["output"]), executed.ToJsonString());
        var png = await host.Client.GetByteArrayAsync($"/view?filename={Uri.EscapeDataString(entry["filename"]!.GetValue<string>())}&subfolder={entry["subfolder"]}&type=temp");

        var expected = bitmap.Pixels.SelectMany(c => Enumerable.Repeat((byte)Math.Round(255 * (c.Red / 255.0)), 3)).ToArray();
        Assert.Equal(expected, Pixels(png));
    }

    [Fact]
    public async Task A_solid_mask_previews_as_its_grey_level_and_object_info_lists_an_output_node()
    {
        await using var host = await ComfyHost.StartAsync();
        foreach (var (value, grey) in new[] { (0.2, 51), (1.0, 255), (0.0, 0) })
        {
            var image = await RunForImageAsync(host, new JsonObject
            {
                ["1"] = Node("SolidMask", new JsonObject { ["value"] = value, ["width"] = 8, ["height"] = 4 }),
                ["9"] = Node("MaskPreview", new JsonObject { ["mask"] = Link("1", 0) }),
            });
            Assert.Equal(Enumerable.Repeat((byte)grey, 8 * 4 * 3), Pixels(image));
        }

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/MaskPreview"))!["MaskPreview"]!;
        Assert.True(info["output_node"]!.GetValue<bool>());
        Assert.Equal(["mask"], info["input"]!["required"]!.AsObject().Select(p => p.Key));
        Assert.Empty(info["output"]!.AsArray());
    }
}
