using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's TomePatchModel → unet.token_merge through /prompt on the tiny SD 2.x single file (attention at full resolution:
/// a 128-pixel image has 16 × 16 tokens there): the prompt draws the pixels of the same FlowDiffusion workflow written by
/// hand, ratio 0 the plain image; the conversion's default, ComfyUI's range errors naming ratio and /object_info. The
/// numerics are checked against torch in the Checkpoints tests' TokenMergeReferenceTests.
/// </summary>
public sealed class TokenMergeTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-tome-");

    public TokenMergeTests() => _home.Add(Path.Combine(CheckpointHome.TestData, "sd2-tiny", "sd2-fp16.safetensors"), "checkpoints/sd2-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task A_TomePatchModel_prompt_draws_the_pixels_of_the_same_FlowDiffusion_workflow_and_ratio_0_the_plain_image()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var plain = await RunAsync(host, Txt2Img(model: "sd2-tiny.safetensors", text: "a red circle", size: 128, steps: 2, cfg: 5));
        var merged = await RunAsync(host, Patched(new JsonObject { ["ratio"] = 0.5 }));
        var none = await RunAsync(host, Patched(new JsonObject { ["ratio"] = 0 }));

        Assert.Equal(await IpAdapterMappingTests.RunYamlAsync(host, Yaml(0.5)), merged);
        var differing = plain.Zip(merged).Count(p => p.First != p.Second);
        Assert.True(differing > plain.Length / 10, $"{differing} of {plain.Length} channel values differ from the unmerged image");
        Assert.Equal(plain, none);
    }

    [Fact]
    public void Without_a_widget_value_it_takes_comfyuis_default_ratio()
    {
        var conversion = Convert(Patched(new JsonObject()));

        Assert.Empty(conversion.NodeErrors);
        var node = conversion.Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal("unet.token_merge", node.Type);
        Assert.Equal(0.3, ((LiteralValue)node.Parameter("ratio")!.Value).Value);
        Assert.Equal((ApiPromptConverter.NodeId("4"), "unet"), (node.Edge("unet")!.SourceNode, node.Edge("unet")!.SourceOutput));
        var consumer = conversion.Workflow.Nodes.Single(n => n.Inputs.Any(e => e.SourceNode == ApiPromptConverter.NodeId("30")));
        Assert.Equal("unet_out", consumer.Inputs.Single(e => e.SourceNode == ApiPromptConverter.NodeId("30")).SourceOutput);
    }

    [Theory]
    [InlineData(-0.01, "value_smaller_than_min")]
    [InlineData(1.5, "value_bigger_than_max")]
    public void A_ratio_out_of_range_is_a_node_error_naming_ratio(double ratio, string type)
    {
        var (classType, errors) = Convert(Patched(new JsonObject { ["ratio"] = ratio })).NodeErrors["30"];
        Assert.Equal("TomePatchModel", classType);
        var error = Assert.Single(errors);
        Assert.Equal((type, "ratio"), (error.Type, error.InputName));
        Assert.Empty(Convert(Patched(new JsonObject { ["ratio"] = 1 })).NodeErrors);
    }

    [Fact]
    public async Task Object_info_lists_the_class_with_comfyuis_input_and_range()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!["TomePatchModel"]!;
        var required = info["input"]!["required"]!;
        Assert.Equal(["model", "ratio"], required.AsObject().Select(p => p.Key));
        var ratio = required["ratio"]![1]!;
        Assert.Equal((0.3, 0.0, 1.0, 0.01), (ratio["default"]!.GetValue<double>(), ratio["min"]!.GetValue<double>(), ratio["max"]!.GetValue<double>(), ratio["step"]!.GetValue<double>()));
        Assert.Equal(["MODEL"], info["output"]!.AsArray().Select(o => o!.GetValue<string>()));
    }

    // The tiny SD 2.x file's txt2img at 128 pixels (2 steps, CFG 5) with TomePatchModel between the checkpoint and the sampler.
    private static JsonObject Patched(JsonObject settings)
    {
        var prompt = Txt2Img(model: "sd2-tiny.safetensors", text: "a red circle", size: 128, steps: 2, cfg: 5);
        settings["model"] = Link("4", 0);
        prompt["30"] = Node("TomePatchModel", settings);
        prompt["3"]!["inputs"]!["model"] = Link("30", 0);
        return prompt;
    }

    // The drawing as a FlowDiffusion workflow written by hand, sampled as KSampler samples.
    private static string Yaml(double ratio) => $$"""
        flowdiffusion: 1
        name: tome-equivalent
        nodes:
          model: { node: model.load, with: { path: models/checkpoints/sd2-tiny.safetensors } }
          merged: { node: unet.token_merge, in: { unet: model.unet }, with: { ratio: {{ratio.ToString(System.Globalization.CultureInfo.InvariantCulture)}} } }
        {{HandWrittenKSampler.Nodes("merged.unet_out", "model.clip", 128)}}
        """;

    private PromptConversion Convert(JsonObject prompt) =>
        ApiPromptConverter.Convert(prompt, new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input")), requireFiles: false);

    private static async Task<byte[]> RunAsync(ComfyHost host, JsonObject prompt) => ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
}
