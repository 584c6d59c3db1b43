using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's HyperTile → unet.hypertile through /prompt on the tiny SD 1.x single file (attention at its second level: a
/// 128-pixel image has 8 × 8 tokens there, 2 × 2 tiles at tile_size 32 and max_depth 1): the prompt draws the pixels of
/// the same FlowDiffusion workflow written by hand, ComfyUI's default tile (one tile at this size) the plain image; the
/// conversion's defaults and edges, ComfyUI's range errors, the refused swap_size and /object_info. The numerics are
/// checked against torch in the Checkpoints tests' HyperTileReferenceTests.
/// </summary>
public sealed class HyperTileTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-hypertile-");

    public HyperTileTests() => _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task A_HyperTile_prompt_draws_the_pixels_of_the_same_FlowDiffusion_workflow_and_one_tile_the_plain_image()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var plain = await RunAsync(host, Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", size: 128, steps: 2, cfg: 5));
        var tiled = await RunAsync(host, Patched(new JsonObject { ["tile_size"] = 32, ["max_depth"] = 1 }));
        var oneTile = await RunAsync(host, Patched(new JsonObject { ["max_depth"] = 1 }));

        Assert.Equal(await IpAdapterMappingTests.RunYamlAsync(host, Yaml(32, 1)), tiled);
        var differing = plain.Zip(tiled).Count(p => p.First != p.Second);
        Assert.True(differing > plain.Length / 10, $"{differing} of {plain.Length} channel values differ from the untiled image");
        Assert.Equal(plain, oneTile);
    }

    [Fact]
    public void Without_widget_values_it_takes_comfyuis_defaults()
    {
        var conversion = Convert(Patched(new JsonObject()));

        Assert.Empty(conversion.NodeErrors);
        var node = conversion.Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal("unet.hypertile", node.Type);
        object? Value(string name) => ((LiteralValue)node.Parameter(name)!.Value).Value;
        Assert.Equal([256L, 2L, 0L], new[] { "tile_size", "swap_size", "max_depth" }.Select(p => (long)Value(p)!));
        Assert.Equal(false, Value("scale_depth"));
        Assert.Equal((ApiPromptConverter.NodeId("4"), "unet"), (node.Edge("unet")!.SourceNode, node.Edge("unet")!.SourceOutput));
        var consumer = conversion.Workflow.Nodes.Single(n => n.Inputs.Any(e => e.SourceNode == ApiPromptConverter.NodeId("30")));
        Assert.Equal("unet_out", consumer.Inputs.Single(e => e.SourceNode == ApiPromptConverter.NodeId("30")).SourceOutput);
    }

    [Fact]
    public void Values_out_of_range_and_a_random_swap_size_are_node_errors_naming_the_input()
    {
        var (classType, errors) = Convert(Patched(new JsonObject { ["tile_size"] = 0, ["max_depth"] = 11 })).NodeErrors["30"];
        Assert.Equal("HyperTile", classType);
        Assert.Equal([("value_smaller_than_min", "tile_size"), ("value_bigger_than_max", "max_depth")], errors.Select(e => (e.Type, e.InputName)));

        (_, errors) = Convert(Patched(new JsonObject { ["swap_size"] = 3 })).NodeErrors["30"];
        var error = Assert.Single(errors);
        Assert.Equal(("value_not_supported", "swap_size"), (error.Type, error.InputName));
        Assert.Contains("use 1 or 2", error.Details);
        Assert.Empty(Convert(Patched(new JsonObject { ["swap_size"] = 1, ["scale_depth"] = true })).NodeErrors);
    }

    [Fact]
    public async Task Object_info_lists_the_class_with_comfyuis_inputs_and_ranges()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!["HyperTile"]!;
        var required = info["input"]!["required"]!;
        Assert.Equal(["model", "tile_size", "swap_size", "max_depth", "scale_depth"], required.AsObject().Select(p => p.Key));
        (int, int, int) Range(string name) => (required[name]![1]!["default"]!.GetValue<int>(), required[name]![1]!["min"]!.GetValue<int>(), required[name]![1]!["max"]!.GetValue<int>());
        Assert.Equal([(256, 1, 2048), (2, 1, 128), (0, 0, 10)], new[] { "tile_size", "swap_size", "max_depth" }.Select(Range));
        Assert.False(required["scale_depth"]![1]!["default"]!.GetValue<bool>());
        Assert.Equal(["MODEL"], info["output"]!.AsArray().Select(o => o!.GetValue<string>()));
    }

    // The tiny single file's txt2img at 128 pixels (2 steps, CFG 5) with HyperTile between the checkpoint and the sampler.
    private static JsonObject Patched(JsonObject settings)
    {
        var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", size: 128, steps: 2, cfg: 5);
        settings["model"] = Link("4", 0);
        prompt["30"] = Node("HyperTile", settings);
        prompt["3"]!["inputs"]!["model"] = Link("30", 0);
        return prompt;
    }

    // The drawing as a FlowDiffusion workflow written by hand, sampled as KSampler samples.
    private static string Yaml(int tileSize, int maxDepth) => $$"""
        flowdiffusion: 1
        name: hypertile-equivalent
        nodes:
          model: { node: model.load, with: { path: models/checkpoints/sd1-tiny.safetensors } }
          tiled: { node: unet.hypertile, in: { unet: model.unet }, with: { tile_size: {{tileSize}}, max_depth: {{maxDepth}} } }
        {{HandWrittenKSampler.Nodes("tiled.unet_out", "model.clip", 128)}}
        """;

    private PromptConversion Convert(JsonObject prompt) =>
        ApiPromptConverter.Convert(prompt, new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input")), requireFiles: false);

    private static async Task<byte[]> RunAsync(ComfyHost host, JsonObject prompt) => ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
}
