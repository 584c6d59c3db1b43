using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's ModelMergeSD1, ModelMergeSD2 and ModelMergeSDXL → unet.merge_blocks with one prefix=ratio pair per block
/// input, in ComfyUI's order: the conversion, ComfyUI's ranges and /object_info, and a /prompt merging the tiny SD 1.x single
/// file with itself under a LoRA, which draws the pixels of the same FlowDiffusion workflow written by hand. The weights
/// are checked against the closed form in the node pack's ModelMergeBlockRatioTests.
/// </summary>
public sealed class ModelMergeModelSpecificTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-merge-blocks-");

    public ModelMergeModelSpecificTests()
    {
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "lora", "kohya-a.safetensors"), "loras/kohya-a.safetensors");
    }

    public void Dispose() => _home.Dispose();

    // The ratios the prompt sets where the LoRA changes weights (input_blocks.1 and 3, middle_block.1, output_blocks.0); the rest stay 1.
    private static readonly (string Block, double Ratio)[] Ratios = [("input_blocks.1.", 0.3), ("input_blocks.3.", 0.6), ("middle_block.1.", 0.2), ("output_blocks.0.", 0.7)];

    [Theory]
    [InlineData("ModelMergeSD1", 12, ".")]
    [InlineData("ModelMergeSD2", 12, ".")]
    [InlineData("ModelMergeSDXL", 9, "")]
    public void Each_block_input_becomes_a_prefix_ratio_pair_in_comfyuis_order(string type, int blocks, string end)
    {
        var inputs = new JsonObject { ["model1"] = Link("4", 0), ["model2"] = Link("40", 0), ["time_embed."] = 0.9, [$"input_blocks.4{end}"] = 0.25, [$"output_blocks.8{end}"] = 0 };
        var conversion = Convert(Merged(type, inputs));

        Assert.Empty(conversion.NodeErrors);
        var merge = conversion.Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal("unet.merge_blocks", merge.Type);
        string[] prefixes =
        [
            "time_embed.", "label_emb.", .. Enumerable.Range(0, blocks).Select(i => $"input_blocks.{i}{end}"), .. Enumerable.Range(0, 3).Select(i => $"middle_block.{i}{end}"),
            .. Enumerable.Range(0, blocks).Select(i => $"output_blocks.{i}{end}"), "out.",
        ];
        var expected = string.Join(", ", prefixes.Select(p => p + "=" + (p == "time_embed." ? "0.9" : p == $"input_blocks.4{end}" ? "0.25" : p == $"output_blocks.8{end}" ? "0" : "1")));
        Assert.Equal(expected, ((LiteralValue)merge.Parameter("blocks")!.Value).Value);
        Assert.Null(merge.Parameter("input"));
        Assert.Equal((ApiPromptConverter.NodeId("40"), "unet_out"), (merge.Edge("unet2")!.SourceNode, merge.Edge("unet2")!.SourceOutput));
    }

    [Theory]
    [InlineData("ModelMergeSD1", "middle_block.1.", 1.5, "value_bigger_than_max")]
    [InlineData("ModelMergeSDXL", "output_blocks.3", -0.5, "value_smaller_than_min")]
    public void A_ratio_out_of_range_is_a_node_error_naming_the_block(string type, string input, double value, string error)
    {
        var conversion = Convert(Merged(type, new JsonObject { ["model1"] = Link("4", 0), ["model2"] = Link("40", 0), [input] = value }));

        var found = Assert.Single(conversion.NodeErrors["30"].Errors);
        Assert.Equal((error, input), (found.Type, found.InputName));
    }

    [Fact]
    public async Task A_ModelMergeSD1_prompt_draws_the_pixels_of_the_same_FlowDiffusion_workflow_and_object_info_lists_the_classes()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var inputs = new JsonObject { ["model1"] = Link("4", 0), ["model2"] = Link("40", 0) };
        foreach (var (block, ratio) in Ratios) inputs[block] = ratio;
        var merged = await RunAsync(host, Merged("ModelMergeSD1", inputs));

        var blocks = string.Join(", ", ApiPromptConverter.ModelMergeBlockPrefixes("ModelMergeSD1")!
            .Select(p => p + "=" + (Ratios.FirstOrDefault(r => r.Block == p).Ratio is var r && r > 0 ? r.ToString(CultureInfo.InvariantCulture) : "1")));
        Assert.Equal(await IpAdapterMappingTests.RunYamlAsync(host, Yaml(blocks)), merged);
        // Neither model's own image: the merge takes some blocks from each.
        var plain = await RunAsync(host, Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", size: 64, steps: 2, cfg: 5));
        var withLora = Merged("ModelMergeSD1", new JsonObject { ["model1"] = Link("4", 0), ["model2"] = Link("40", 0) });
        withLora["3"]!["inputs"]!["model"] = Link("40", 0);
        var lora = await RunAsync(host, withLora);
        foreach (var (other, what) in new[] { (plain, "model1"), (lora, "model2") })
        {
            var differing = merged.Zip(other).Count(p => p.First != p.Second);
            Assert.True(differing > merged.Length / 20, $"{differing} of {merged.Length} channel values differ from {what}'s image");
        }

        var all = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        foreach (var (type, count, last) in new[] { ("ModelMergeSD1", 2 + 12 + 3 + 12 + 1, "output_blocks.11."), ("ModelMergeSD2", 30, "output_blocks.11."), ("ModelMergeSDXL", 2 + 9 + 3 + 9 + 1, "output_blocks.8") })
        {
            var info = all[type]!;
            var order = info["input_order"]!["required"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
            Assert.Equal(["model1", "model2", "time_embed.", "label_emb."], order.Take(4));
            Assert.Equal(2 + count, order.Count);
            Assert.Equal([last, "out."], order.TakeLast(2));
            var spec = info["input"]!["required"]!["middle_block.1" + (type == "ModelMergeSDXL" ? "" : ".")]!;
            Assert.Equal(("FLOAT", 1.0, 0.0, 1.0), (spec[0]!.GetValue<string>(), spec[1]!["default"]!.GetValue<double>(), spec[1]!["min"]!.GetValue<double>(), spec[1]!["max"]!.GetValue<double>()));
            Assert.Equal("advanced/model_merging/model_specific", info["category"]!.GetValue<string>());
            Assert.Equal(["MODEL"], info["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        }
    }

    // The tiny single file's txt2img at 64 pixels (2 steps, CFG 5), its UNet merged (30) with its LoRA'd self (40).
    private static JsonObject Merged(string type, JsonObject inputs)
    {
        var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", size: 64, steps: 2, cfg: 5);
        prompt["40"] = Node("LoraLoaderModelOnly", new JsonObject { ["model"] = Link("4", 0), ["lora_name"] = "kohya-a.safetensors", ["strength_model"] = 0.9 });
        prompt["30"] = Node(type, inputs);
        prompt["3"]!["inputs"]!["model"] = Link("30", 0);
        return prompt;
    }

    // The drawing as a FlowDiffusion workflow written by hand, sampled as KSampler samples.
    private static string Yaml(string blocks) => $$"""
        flowdiffusion: 1
        name: merge-blocks-equivalent
        nodes:
          model: { node: model.load, with: { path: models/checkpoints/sd1-tiny.safetensors } }
          lora: { node: lora.apply, in: { unet: model.unet }, with: { path: models/loras/kohya-a.safetensors, strength_model: 0.9 } }
          merge: { node: unet.merge_blocks, in: { unet1: model.unet, unet2: lora.unet_out }, with: { blocks: "{{blocks}}" } }
        {{HandWrittenKSampler.Nodes("merge.merged", "model.clip", 64)}}
        """;

    private PromptConversion Convert(JsonObject prompt) =>
        ApiPromptConverter.Convert(prompt, new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input")), requireFiles: false);

    private static async Task<byte[]> RunAsync(ComfyHost host, JsonObject prompt) => ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
}
