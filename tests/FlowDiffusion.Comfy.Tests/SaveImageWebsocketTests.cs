using System.Text.Json.Nodes;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// SaveImageWebsocket as ComfyUI's websockets_api_example_ws_images.py uses it: the images arrive as binary frames
/// (event 1, format 2 = PNG) while <c>executing</c> names the node, no file is written, and no <c>executed</c> follows.
/// </summary>
public sealed class SaveImageWebsocketTests
{
    private const string Sender = "save_image_websocket_node";

    [Fact]
    public async Task Images_arrive_as_png_frames_after_executing_names_the_node_equal_to_what_SaveImage_writes_and_no_file_is_written()
    {
        await using var host = await ComfyHost.StartAsync();
        await using var socket = await SocketClient.ConnectAsync(host.Address, "ws-images");
        await socket.ReceiveAsync(CancellationToken.None);

        // tiny-sd's random weights draw a different, busy picture per item, so order and every pixel show.
        var websocket = Txt2Img(model: "tiny-sd", text: "a red circle", size: 64, steps: 3, batch: 2);
        websocket.Remove("9");
        websocket[Sender] = Node("SaveImageWebsocket", new JsonObject { ["images"] = Link("8", 0) });
        var (status, body) = await host.PostPromptAsync(websocket, "ws-images");
        Assert.True(status == 200, body.ToJsonString());
        var id = body["prompt_id"]!.GetValue<string>();
        var (byNode, messages) = await ReceiveAsExampleClientAsync(socket, id);

        // As the example client sorts them: the two images under the sender, the sampler's previews under the sampler.
        var images = byNode[Sender];
        Assert.Equal(2, images.Count);
        Assert.All(images, f => Assert.Equal((1, 2), (f.Type, f.Format)));
        Assert.Equal(2, byNode["3"].Count);
        Assert.DoesNotContain(messages, m => m["type"]!.GetValue<string>() == "executed" && m["data"]!["node"]!.GetValue<string>() == Sender);
        var progress = messages.Where(m => m["type"]!.GetValue<string>() == "progress" && m["data"]!["node"]!.GetValue<string>() == Sender).Select(m => m["data"]!).ToList();
        Assert.Equal([0, 1], progress.Select(p => p["value"]!.GetValue<int>()));
        Assert.All(progress, p => Assert.Equal(2, p["max"]!.GetValue<int>()));
        var history = await host.HistoryAsync(id);
        Assert.Equal("success", history["status"]!["status_str"]!.GetValue<string>());
        Assert.Null(history["outputs"]![Sender]);
        Assert.Empty(Directory.EnumerateFiles(host.Root, "*.png", SearchOption.AllDirectories));

        // The same prompt through SaveImage: its files hold exactly the frames' pixels, in batch order.
        var saving = Txt2Img(model: "tiny-sd", text: "a red circle", size: 64, steps: 3, batch: 2);
        (status, body) = await host.PostPromptAsync(saving, "ws-images");
        Assert.True(status == 200, body.ToJsonString());
        var saved = (await host.HistoryAsync(body["prompt_id"]!.GetValue<string>()))["outputs"]!["9"]!["images"]!.AsArray();
        Assert.Equal(2, saved.Count);
        for (var i = 0; i < 2; i++)
        {
            var file = Path.Combine(host.Root, "outputs", saved[i]!["subfolder"]!.GetValue<string>(), saved[i]!["filename"]!.GetValue<string>());
            var written = Pixels(await File.ReadAllBytesAsync(file));
            var sent = Pixels(images[i].Image);
            Assert.Equal(64 * 64, sent.Length);
            Assert.Equal(written, sent);
        }

        Assert.NotEqual(Pixels(images[0].Image), Pixels(images[1].Image));
        Assert.True(Pixels(images[0].Image).Distinct().Count() > 100, "tiny-sd's image should be busy, not flat");

        // Queued again, everything but the sender comes from the cache; the sender runs and sends the images again.
        (status, body) = await host.PostPromptAsync(websocket, "ws-images");
        Assert.True(status == 200, body.ToJsonString());
        var (again, _) = await ReceiveAsExampleClientAsync(socket, body["prompt_id"]!.GetValue<string>());
        Assert.Equal(images.Select(f => Pixels(f.Image)), again[Sender].Select(f => Pixels(f.Image)));
    }

    // websockets_api_example_ws_images.py's loop: a binary frame belongs to the node of the latest executing message of
    // the prompt; executing with node null ends it.
    private static async Task<(Dictionary<string, List<(int Type, int Format, byte[] Image)>> ByNode, List<JsonObject> Messages)> ReceiveAsExampleClientAsync(
        SocketClient socket, string promptId)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var byNode = new Dictionary<string, List<(int, int, byte[])>>();
        var messages = new List<JsonObject>();
        var current = "";
        while (true)
        {
            var message = await socket.ReceiveAsync(cancel.Token);
            if (message is null)
            {
                if (!byNode.TryGetValue(current, out var list)) byNode[current] = list = [];
                list.Add(socket.Frames[^1]);
                continue;
            }

            if (message["data"]?["prompt_id"]?.GetValue<string>() != promptId) continue;
            messages.Add(message);
            if (message["type"]!.GetValue<string>() != "executing") continue;
            if (message["data"]!["node"] is not { } node) return (byNode, messages);
            current = node.GetValue<string>();
        }
    }

    private static SKColor[] Pixels(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidDataException("not an image");
        return bitmap.Pixels;
    }
}
