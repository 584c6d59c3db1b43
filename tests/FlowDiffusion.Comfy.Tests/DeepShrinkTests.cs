using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's PatchModelAddDownscale ("Kohya Deep Shrink") → unet.deep_shrink through /prompt on the tiny SD 1.x single
/// file, whose converted UNet graphs take Deep Shrink's inputs: a window that holds no step draws the plain image, the
/// defaults another; the conversion's defaults and edges, ComfyUI's range errors, its five methods and
/// /object_info. The numerics are checked against torch in the node pack's UNetDeepShrinkTests.
/// </summary>
public sealed class DeepShrinkTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-deep-shrink-");

    public DeepShrinkTests() => _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task A_window_without_steps_draws_the_plain_image_and_the_defaults_at_block_1_another()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var plain = await ImageAsync(host, Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5));
        var never = await ImageAsync(host, Patched(new JsonObject { ["block_number"] = 1, ["start_percent"] = 1.0, ["end_percent"] = 1.0 }));
        var shrunk = await ImageAsync(host, Patched(new JsonObject { ["block_number"] = 1 }));
        var nearest = await ImageAsync(host, Patched(new JsonObject { ["block_number"] = 1, ["downscale_method"] = "nearest-exact", ["upscale_method"] = "bilinear" }));

        Assert.Equal(plain, never);
        Assert.NotEqual(plain, shrunk);
        Assert.NotEqual(shrunk, nearest);
    }

    [Fact]
    public void Without_widget_values_it_takes_comfyuis_defaults()
    {
        var conversion = Convert(Patched(new JsonObject()));

        Assert.Empty(conversion.NodeErrors);
        var node = conversion.Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal("unet.deep_shrink", node.Type);
        object? Value(string name) => ((LiteralValue)node.Parameter(name)!.Value).Value;
        Assert.Equal(3L, Value("block_number"));
        Assert.Equal([2.0, 0.0, 0.35], new[] { "downscale_factor", "start_percent", "end_percent" }.Select(p => (double)Value(p)!));
        Assert.Equal(true, Value("downscale_after_skip"));
        Assert.Equal(["bicubic", "bicubic"], new[] { "downscale_method", "upscale_method" }.Select(p => (string)Value(p)!));
        Assert.Equal((ApiPromptConverter.NodeId("4"), "unet"), (node.Edge("unet")!.SourceNode, node.Edge("unet")!.SourceOutput));
        var consumer = conversion.Workflow.Nodes.Single(n => n.Inputs.Any(e => e.SourceNode == ApiPromptConverter.NodeId("30")));
        Assert.Equal("unet_out", consumer.Inputs.Single(e => e.SourceNode == ApiPromptConverter.NodeId("30")).SourceOutput);
    }

    [Fact]
    public void Values_out_of_range_and_methods_comfyui_lacks_are_node_errors_naming_the_input()
    {
        var conversion = Convert(Patched(new JsonObject
        {
            ["block_number"] = 33, ["downscale_factor"] = 0.05, ["downscale_method"] = "lanczos", ["upscale_method"] = "bislerp",
        }));

        var (classType, errors) = conversion.NodeErrors["30"];
        Assert.Equal("PatchModelAddDownscale", classType);
        Assert.Equal(
            [("value_not_in_list", "downscale_method"), ("value_bigger_than_max", "block_number"), ("value_smaller_than_min", "downscale_factor")],
            errors.Select(e => (e.Type, e.InputName)));
        Assert.Contains("lanczos", errors[0].Details);
    }

    [Theory]
    [InlineData("area", "bislerp")]
    [InlineData("bislerp", "area")]
    public void Area_and_bislerp_pass_through_to_the_node(string down, string up)
    {
        var conversion = Convert(Patched(new JsonObject { ["downscale_method"] = down, ["upscale_method"] = up }));
        Assert.Empty(conversion.NodeErrors);
        var node = conversion.Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
        object? Value(string name) => ((LiteralValue)node.Parameter(name)!.Value).Value;
        Assert.Equal((down, up), ((string)Value("downscale_method")!, (string)Value("upscale_method")!));
    }

    [Fact]
    public async Task Object_info_lists_the_class_with_comfyuis_defaults_and_the_methods_the_graph_has()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!["PatchModelAddDownscale"]!;
        var required = info["input"]!["required"]!;
        Assert.Equal(["model", "block_number", "downscale_factor", "start_percent", "end_percent", "downscale_after_skip", "downscale_method", "upscale_method"],
            required.AsObject().Select(p => p.Key));
        Assert.Equal((3, 1, 32), (required["block_number"]![1]!["default"]!.GetValue<int>(), required["block_number"]![1]!["min"]!.GetValue<int>(), required["block_number"]![1]!["max"]!.GetValue<int>()));
        Assert.Equal([2.0, 0.0, 0.35], new[] { "downscale_factor", "start_percent", "end_percent" }.Select(p => required[p]![1]!["default"]!.GetValue<double>()));
        Assert.Equal(["bicubic", "nearest-exact", "bilinear", "area", "bislerp"], required["upscale_method"]![0]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(["MODEL"], info["output"]!.AsArray().Select(o => o!.GetValue<string>()));
    }

    // The default graph on the tiny single file (2 steps, CFG 5) with PatchModelAddDownscale between the checkpoint and the sampler.
    private static JsonObject Patched(JsonObject settings)
    {
        var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        settings["model"] = Link("4", 0);
        prompt["30"] = Node("PatchModelAddDownscale", settings);
        prompt["3"]!["inputs"]!["model"] = Link("30", 0);
        return prompt;
    }

    private PromptConversion Convert(JsonObject prompt) =>
        ApiPromptConverter.Convert(prompt, new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input")), requireFiles: false);

    private static async Task<byte[]> ImageAsync(ComfyHost host, JsonObject prompt)
    {
        using var bitmap = SKBitmap.Decode(await ClassMappingTests.RunForImageAsync(host, prompt));
        return bitmap.Bytes;
    }
}
