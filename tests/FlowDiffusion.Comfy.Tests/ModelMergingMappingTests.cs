using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's model merging classes: ModelMergeSimple, ModelMergeAdd, ModelMergeSubtract and ModelMergeBlocks → unet.merge
/// and unet.merge_blocks, CLIPMergeSimple, CLIPMergeAdd and CLIPMergeSubtract → clip.merge, with ComfyUI's
/// (strength_model, strength_patch) as strength1 and strength2. The numerics are checked in the node pack's
/// ModelMergeTests; here the mapping, the ranges and a run through /prompt.
/// </summary>
public sealed class ModelMergingMappingTests
{
    [Theory]
    [InlineData("ModelMergeSimple", "ratio", 0.3, 0.3, 1 - 0.3)]
    [InlineData("ModelMergeAdd", null, 0, 1, 1)]
    [InlineData("ModelMergeSubtract", "multiplier", 2.5, 2.5, -2.5)]
    [InlineData("CLIPMergeSimple", "ratio", 0.8, 0.8, 1 - 0.8)]
    [InlineData("CLIPMergeAdd", null, 0, 1, 1)]
    [InlineData("CLIPMergeSubtract", "multiplier", -1.5, -1.5, 1.5)]
    public void A_merge_becomes_model1_times_strength1_plus_model2_times_strength2(string type, string? input, double value, double strength1, double strength2)
    {
        var clip = type.StartsWith("CLIP", StringComparison.Ordinal);
        var inputs = clip
            ? new JsonObject { ["clip1"] = Link("4", 1), ["clip2"] = Link("40", 1) }
            : new JsonObject { ["model1"] = Link("4", 0), ["model2"] = Link("40", 0) };
        if (input is not null) inputs[input] = value;
        var conversion = Convert(Merged(type, inputs, clip));

        Assert.Empty(conversion.NodeErrors);
        var workflow = conversion.Workflow!;
        var merge = workflow.Node(ApiPromptConverter.NodeId("30"))!;
        var (first, second, port) = clip ? ("clip1", "clip2", "clip") : ("unet1", "unet2", "unet");
        Assert.Equal(clip ? "clip.merge" : "unet.merge", merge.Type);
        Assert.Equal(strength1, (double)((LiteralValue)merge.Parameter("strength1")!.Value).Value!);
        Assert.Equal(strength2, (double)((LiteralValue)merge.Parameter("strength2")!.Value).Value!);
        Assert.Equal((ApiPromptConverter.NodeId("4"), port), (merge.Edge(first)!.SourceNode, merge.Edge(first)!.SourceOutput));
        Assert.Equal((ApiPromptConverter.NodeId("40"), port), (merge.Edge(second)!.SourceNode, merge.Edge(second)!.SourceOutput));
        if (clip)
        {
            // The merged encoder encodes both prompts; the tokenizer stays clip1's.
            var encodes = workflow.Nodes.Where(n => n.Type == "clip.encode" && n.Edge("clip")!.SourceNode == merge.Id).ToList();
            Assert.Equal(2, encodes.Count);
            Assert.All(encodes, encode => Assert.Equal(ApiPromptConverter.NodeId("4"), workflow.Node(encode.Edge("tokens")!.SourceNode)!.Edge("tokenizer")!.SourceNode));
        }
        else
        {
            // The sampler runs the merged UNet with model1's scheduler configuration.
            var unetUser = workflow.Nodes.Single(n => n.Inputs.Any(e => e.SourceNode == merge.Id));
            Assert.Equal("merged", unetUser.Inputs.Single(e => e.SourceNode == merge.Id).SourceOutput);
            Assert.Contains(workflow.Nodes, n => n.Inputs.Any(e => e.SourceNode == ApiPromptConverter.NodeId("4") && e.SourceOutput == "scheduler_config"));
            Assert.DoesNotContain(workflow.Nodes, n => n.Inputs.Any(e => e.SourceNode == ApiPromptConverter.NodeId("40") && e.SourceOutput == "scheduler_config"));
        }
    }

    [Fact]
    public void ModelMergeBlocks_passes_its_three_ratios()
    {
        var conversion = Convert(Merged("ModelMergeBlocks", new JsonObject
        {
            ["model1"] = Link("4", 0), ["model2"] = Link("40", 0), ["input"] = 0.2, ["middle"] = 0.6, ["out"] = 0.9,
        }, clip: false));

        Assert.Empty(conversion.NodeErrors);
        var merge = conversion.Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal("unet.merge_blocks", merge.Type);
        Assert.Equal([0.2, 0.6, 0.9], new[] { "input", "middle", "out" }.Select(p => (double)((LiteralValue)merge.Parameter(p)!.Value).Value!));
    }

    [Theory]
    [InlineData("ModelMergeSimple", "ratio", 1.5, "value_bigger_than_max")]
    [InlineData("CLIPMergeSimple", "ratio", -0.1, "value_smaller_than_min")]
    [InlineData("ModelMergeSubtract", "multiplier", -10.5, "value_smaller_than_min")]
    [InlineData("ModelMergeBlocks", "out", 2, "value_bigger_than_max")]
    public void A_value_out_of_range_is_a_node_error_naming_the_input(string type, string input, double value, string error)
    {
        var clip = type.StartsWith("CLIP", StringComparison.Ordinal);
        var inputs = clip
            ? new JsonObject { ["clip1"] = Link("4", 1), ["clip2"] = Link("40", 1) }
            : new JsonObject { ["model1"] = Link("4", 0), ["model2"] = Link("40", 0) };
        inputs[input] = value;
        var conversion = Convert(Merged(type, inputs, clip));

        var found = Assert.Single(conversion.NodeErrors["30"].Errors);
        Assert.Equal(error, found.Type);
        Assert.Contains(input, found.Details, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_merged_with_itself_at_one_half_draws_the_same_image_and_object_info_lists_the_classes()
    {
        await using var host = await ComfyHost.StartAsync();
        var plain = await ClassMappingTests.RunForImageAsync(host, Txt2Img(steps: 2));
        // 0.5 · W + 0.5 · W is W exactly in float32, so the merged UNet and text encoder draw the same pixels.
        var prompt = Txt2Img(steps: 2);
        prompt["30"] = Node("ModelMergeSimple", new JsonObject { ["model1"] = Link("4", 0), ["model2"] = Link("4", 0), ["ratio"] = 0.5 });
        prompt["31"] = Node("CLIPMergeSimple", new JsonObject { ["clip1"] = Link("4", 1), ["clip2"] = Link("4", 1), ["ratio"] = 0.5 });
        prompt["3"]!["inputs"]!["model"] = Link("30", 0);
        prompt["6"]!["inputs"]!["clip"] = Link("31", 0);
        prompt["7"]!["inputs"]!["clip"] = Link("31", 0);
        var merged = await ClassMappingTests.RunForImageAsync(host, prompt);
        Assert.Equal(Images.Mean(plain), Images.Mean(merged));

        var all = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        Assert.Equal("1 0 … 1", Range(all, "ModelMergeSimple", "ratio"));
        Assert.Equal("1 -10 … 10", Range(all, "ModelMergeSubtract", "multiplier"));
        Assert.Equal("1 0 … 1", Range(all, "ModelMergeBlocks", "middle"));
        Assert.Equal("1 -10 … 10", Range(all, "CLIPMergeSubtract", "multiplier"));
        Assert.Equal(["MODEL"], all["ModelMergeAdd"]!["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["CLIP"], all["CLIPMergeAdd"]!["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("advanced/model_merging", all["CLIPMergeSimple"]!["category"]!.GetValue<string>());
    }

    private static string Range(JsonNode all, string type, string input)
    {
        var options = all[type]!["input"]!["required"]![input]![1]!;
        return $"{options["default"]} {options["min"]} … {options["max"]}";
    }

    private static PromptConversion Convert(JsonObject prompt) =>
        ApiPromptConverter.Convert(prompt, new ComfyFolders(RepositoryRoot.Path, RepositoryRoot.Path, RepositoryRoot.Path), requireFiles: false);

    // The default graph with a second checkpoint (40) and the merge (30) feeding the sampler's model or both prompts' clip.
    private static JsonObject Merged(string type, JsonObject inputs, bool clip)
    {
        var prompt = Txt2Img();
        prompt["40"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "tiny-sd" });
        prompt["30"] = Node(type, inputs);
        if (clip)
        {
            prompt["6"]!["inputs"]!["clip"] = Link("30", 0);
            prompt["7"]!["inputs"]!["clip"] = Link("30", 0);
        }
        else
        {
            prompt["3"]!["inputs"]!["model"] = Link("30", 0);
        }
        return prompt;
    }
}
