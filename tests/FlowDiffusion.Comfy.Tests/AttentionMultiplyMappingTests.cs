using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's UNetSelfAttentionMultiply, UNetCrossAttentionMultiply and CLIPAttentionMultiply → unet.attention_multiply and
/// clip.attention_multiply on the tiny SD 1.x single file: the conversion, ComfyUI's ranges and /object_info, a /prompt with
/// all three drawing the pixels of the same FlowDiffusion workflow written by hand, and all ones the plain image bit for
/// bit. The scaled weights are checked against the closed form in the node pack's AttentionMultiplyTests.
/// </summary>
public sealed class AttentionMultiplyMappingTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-attention-multiply-");

    public AttentionMultiplyMappingTests() => _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Theory]
    [InlineData("UNetSelfAttentionMultiply", "unet.attention_multiply", "self")]
    [InlineData("UNetCrossAttentionMultiply", "unet.attention_multiply", "cross")]
    [InlineData("CLIPAttentionMultiply", "clip.attention_multiply", null)]
    public void Each_class_passes_its_attention_and_factors(string type, string node, string? attention)
    {
        var conversion = Convert(Patched((type, new JsonObject { ["q"] = 0.5, ["k"] = 2, ["v"] = 0 })));

        Assert.Empty(conversion.NodeErrors);
        var patch = conversion.Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal(node, patch.Type);
        object? Value(string name) => patch.Parameter(name) is { } p ? ((LiteralValue)p.Value).Value : null;
        Assert.Equal(attention, Value("attention"));
        Assert.Equal([0.5, 2, 0, 1], new[] { "q", "k", "v", "out" }.Select(p => (double)Value(p)!));
        var (port, output) = attention is null ? ("clip", "clip_out") : ("unet", "unet_out");
        Assert.Equal((ApiPromptConverter.NodeId("4"), port), (patch.Edge(port)!.SourceNode, patch.Edge(port)!.SourceOutput));
        Assert.Contains(conversion.Workflow.Nodes, n => n.Inputs.Any(e => e.SourceNode == patch.Id && e.SourceOutput == output));
    }

    [Theory]
    [InlineData("UNetSelfAttentionMultiply", "q", 10.5, "value_bigger_than_max")]
    [InlineData("CLIPAttentionMultiply", "out", -0.1, "value_smaller_than_min")]
    public void A_factor_out_of_range_is_a_node_error_naming_it(string type, string input, double value, string error)
    {
        var found = Assert.Single(Convert(Patched((type, new JsonObject { [input] = value }))).NodeErrors["30"].Errors);
        Assert.Equal((error, input), (found.Type, found.InputName));
    }

    [Fact]
    public async Task The_multipliers_draw_the_pixels_of_the_same_FlowDiffusion_workflow_and_all_ones_the_plain_image()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var scaled = await RunAsync(host, Patched(
            ("UNetSelfAttentionMultiply", new JsonObject { ["q"] = 0.7, ["k"] = 1.3, ["v"] = 0.9, ["out"] = 1.1 }),
            ("UNetCrossAttentionMultiply", new JsonObject { ["q"] = 1.2, ["k"] = 0.8, ["v"] = 1.5, ["out"] = 0.6 }),
            ("CLIPAttentionMultiply", new JsonObject { ["q"] = 1.1, ["k"] = 0.9, ["v"] = 1.4, ["out"] = 0.8 })));
        Assert.Equal(await IpAdapterMappingTests.RunYamlAsync(host, Yaml), scaled);

        var plain = await RunAsync(host, Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", size: 64, steps: 2, cfg: 5));
        var differing = plain.Zip(scaled).Count(p => p.First != p.Second);
        Assert.True(differing > plain.Length / 10, $"{differing} of {plain.Length} channel values differ from the plain image");
        var ones = await RunAsync(host, Patched(("UNetSelfAttentionMultiply", new JsonObject()), ("UNetCrossAttentionMultiply", new JsonObject()),
            ("CLIPAttentionMultiply", new JsonObject { ["q"] = 1, ["k"] = 1, ["v"] = 1, ["out"] = 1 })));
        Assert.Equal(plain, ones);

        var all = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        foreach (var (type, first, output) in new[] { ("UNetSelfAttentionMultiply", "model", "MODEL"), ("UNetCrossAttentionMultiply", "model", "MODEL"), ("CLIPAttentionMultiply", "clip", "CLIP") })
        {
            var info = all[type]!;
            Assert.Equal([first, "q", "k", "v", "out"], info["input_order"]!["required"]!.AsArray().Select(n => n!.GetValue<string>()));
            var spec = info["input"]!["required"]!["v"]!;
            Assert.Equal(("FLOAT", 1.0, 0.0, 10.0), (spec[0]!.GetValue<string>(), spec[1]!["default"]!.GetValue<double>(), spec[1]!["min"]!.GetValue<double>(), spec[1]!["max"]!.GetValue<double>()));
            Assert.Equal([output], info["output"]!.AsArray().Select(n => n!.GetValue<string>()));
            Assert.Equal("_for_testing/attention_experiments", info["category"]!.GetValue<string>());
        }
    }

    // The tiny single file's txt2img at 64 pixels (2 steps, CFG 5) with the patches chained from 30 up: the UNet ones
    // between the checkpoint and the sampler, the CLIP one between the checkpoint and both prompts.
    private static JsonObject Patched(params (string Type, JsonObject Inputs)[] patches)
    {
        var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", size: 64, steps: 2, cfg: 5);
        var (model, clip) = (Link("4", 0), Link("4", 1));
        var id = 30;
        foreach (var (type, inputs) in patches)
        {
            var node = (id++).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (type == "CLIPAttentionMultiply")
            {
                inputs["clip"] = clip;
                clip = Link(node, 0);
            }
            else
            {
                inputs["model"] = model;
                model = Link(node, 0);
            }
            prompt[node] = Node(type, inputs);
        }
        prompt["3"]!["inputs"]!["model"] = model;
        prompt["6"]!["inputs"]!["clip"] = clip.DeepClone();
        prompt["7"]!["inputs"]!["clip"] = clip.DeepClone();
        return prompt;
    }

    // The drawing as a FlowDiffusion workflow written by hand, sampled as KSampler samples.
    private static string Yaml => $$"""
        flowdiffusion: 1
        name: attention-multiply-equivalent
        nodes:
          model: { node: model.load, with: { path: models/checkpoints/sd1-tiny.safetensors } }
          self: { node: unet.attention_multiply, in: { unet: model.unet }, with: { attention: self, q: 0.7, k: 1.3, v: 0.9, out: 1.1 } }
          cross: { node: unet.attention_multiply, in: { unet: self.unet_out }, with: { attention: cross, q: 1.2, k: 0.8, v: 1.5, out: 0.6 } }
          text: { node: clip.attention_multiply, in: { clip: model.clip }, with: { q: 1.1, k: 0.9, v: 1.4, out: 0.8 } }
        {{HandWrittenKSampler.Nodes("cross.unet_out", "text.clip_out", 64)}}
        """;

    private PromptConversion Convert(JsonObject prompt) =>
        ApiPromptConverter.Convert(prompt, new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input")), requireFiles: false);

    private static async Task<byte[]> RunAsync(ComfyHost host, JsonObject prompt) => ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
}
