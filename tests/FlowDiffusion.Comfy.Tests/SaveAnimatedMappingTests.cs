using System.Text;
using System.Text.Json.Nodes;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's SaveAnimatedWEBP and SaveAnimatedPNG through /prompt: a batch of three solid colours (EmptyImage, ImageBatch)
/// becomes one file in the output folder, which /history and the executed message list under <c>images</c> with
/// <c>animated: [true]</c>, as ComfyUI; /view serves it; libwebp reads the WebP as three frames of the fps's duration and
/// the exact colours (lossless), libpng the APNG's still image as the first colour, with three frames in acTL.
/// Out-of-range widgets are node errors naming them.
/// </summary>
public sealed class SaveAnimatedMappingTests
{
    private static readonly uint[] Colours = [0xFF2010, 0x10FF20, 0x2010FF];

    [Fact]
    public async Task Save_animated_webp_lists_one_animated_file_whose_three_frames_are_the_batch()
    {
        await using var host = await ComfyHost.StartAsync();
        await using var socket = await SocketClient.ConnectAsync(host.Address, "animated-client");
        var prompt = Batch();
        prompt["9"] = Node("SaveAnimatedWEBP", new JsonObject
        {
            ["images"] = Link("5", 0), ["filename_prefix"] = "anim", ["fps"] = 4.0, ["lossless"] = true, ["quality"] = 80, ["method"] = "default",
        });
        var (entry, file) = await RunAsync(host, socket, prompt, "animated-client");
        Assert.EndsWith(".webp", entry["filename"]!.GetValue<string>());
        using var codec = SKCodec.Create(new MemoryStream(file));
        Assert.Equal(3, codec.FrameCount);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(250, codec.FrameInfo[i].Duration);
            using var bitmap = new SKBitmap(new SKImageInfo(8, 4, SKColorType.Rgba8888, SKAlphaType.Unpremul));
            Assert.Equal(SKCodecResult.Success, codec.GetPixels(bitmap.Info, bitmap.GetPixels(), new SKCodecOptions(i)));
            Assert.All(bitmap.Pixels, p => Assert.Equal(Colours[i] | 0xFF000000, (uint)p));
        }
    }

    [Fact]
    public async Task Save_animated_png_lists_one_animated_apng_of_three_frames()
    {
        await using var host = await ComfyHost.StartAsync();
        await using var socket = await SocketClient.ConnectAsync(host.Address, "apng-client");
        var prompt = Batch();
        prompt["9"] = Node("SaveAnimatedPNG", new JsonObject { ["images"] = Link("5", 0), ["filename_prefix"] = "anim", ["fps"] = 6.0, ["compress_level"] = 9 });
        var (entry, file) = await RunAsync(host, socket, prompt, "apng-client");
        Assert.EndsWith(".png", entry["filename"]!.GetValue<string>());
        var control = file.AsSpan().IndexOf("acTL"u8);
        Assert.True(control > 0);
        Assert.Equal(3, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(control + 4)));
        Assert.Equal(3, Encoding.ASCII.GetString(file).Split("fcTL").Length - 1);
        using var still = SKBitmap.Decode(file);
        Assert.All(still.Pixels, p => Assert.Equal(Colours[0] | 0xFF000000, (uint)p));
    }

    [Theory]
    [InlineData("SaveAnimatedWEBP", "fps", 0.0)]
    [InlineData("SaveAnimatedWEBP", "quality", 101)]
    [InlineData("SaveAnimatedWEBP", "method", "best")]
    [InlineData("SaveAnimatedPNG", "compress_level", 10)]
    [InlineData("SaveAnimatedPNG", "fps", 1000.5)]
    public async Task Out_of_range_widgets_are_node_errors_naming_them(string classType, string input, object value)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Batch();
        var inputs = new JsonObject { ["images"] = Link("5", 0), ["filename_prefix"] = "anim", [input] = JsonValue.Create(value) };
        prompt["9"] = Node(classType, inputs);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        var error = body["node_errors"]!["9"]!["errors"]![0]!;
        Assert.Equal(input, error["extra_info"]!["input_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Object_info_lists_both_as_output_nodes_with_comfyuis_inputs()
    {
        await using var host = await ComfyHost.StartAsync();
        foreach (var (classType, inputs) in new[]
        {
            ("SaveAnimatedWEBP", new[] { "images", "filename_prefix", "fps", "lossless", "quality", "method" }),
            ("SaveAnimatedPNG", new[] { "images", "filename_prefix", "fps", "compress_level" }),
        })
        {
            var info = JsonNode.Parse(await host.Client.GetStringAsync($"/object_info/{classType}"))![classType]!;
            Assert.True(info["output_node"]!.GetValue<bool>());
            Assert.Equal("image/animation", info["category"]!.GetValue<string>());
            Assert.Equal(inputs, info["input"]!["required"]!.AsObject().Select(p => p.Key));
        }
    }

    // Three 8×4 EmptyImages of the three colours, batched: node 5.
    private static JsonObject Batch()
    {
        var prompt = new JsonObject();
        for (var i = 0; i < 3; i++)
            prompt[$"{i + 1}"] = Node("EmptyImage", new JsonObject { ["width"] = 8, ["height"] = 4, ["batch_size"] = 1, ["color"] = Colours[i] });
        prompt["4"] = Node("ImageBatch", new JsonObject { ["image1"] = Link("1", 0), ["image2"] = Link("2", 0) });
        prompt["5"] = Node("ImageBatch", new JsonObject { ["image1"] = Link("4", 0), ["image2"] = Link("3", 0) });
        return prompt;
    }

    // Runs the prompt; checks that history lists one output file marked animated, as the executed message does; returns
    // the entry and the file /view serves.
    private static async Task<(JsonNode Entry, byte[] File)> RunAsync(ComfyHost host, SocketClient socket, JsonObject prompt, string client)
    {
        var (status, body) = await host.PostPromptAsync(prompt, client);
        Assert.True(status == 200, body.ToJsonString());
        var id = body["prompt_id"]!.GetValue<string>();
        await socket.UntilDoneAsync(id, TimeSpan.FromSeconds(60));
        var history = await host.HistoryAsync(id);
        Assert.True(history["status"]!["status_str"]!.GetValue<string>() == "success", history["status"]!.ToJsonString());
        var output = history["outputs"]!["9"]!;
        var entry = Assert.Single(output["images"]!.AsArray())!;
        Assert.Equal("output", entry["type"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonArray(true), output["animated"]), output.ToJsonString());
        var executed = Assert.Single(socket.Messages, m => m["type"]!.GetValue<string>() == "executed");
        Assert.True(JsonNode.DeepEquals(output, executed["data"]!["output"]), executed.ToJsonString());
        var file = await host.Client.GetByteArrayAsync($"/view?filename={Uri.EscapeDataString(entry["filename"]!.GetValue<string>())}&subfolder={entry["subfolder"]}&type=output");
        return (entry, file);
    }
}
