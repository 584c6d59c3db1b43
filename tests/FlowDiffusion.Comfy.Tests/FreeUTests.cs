using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's FreeU and FreeU_V2 → unet.freeu (version 1 or 2) through /prompt on the tiny SD 1.x single file, whose
/// converted UNet graphs take FreeU's factors: factors 1 draw the plain image, the defaults of each class another; the
/// conversion's defaults and edges, ComfyUI's range errors and /object_info. The numerics are checked against torch in the
/// node pack's UNetFreeUTests.
/// </summary>
public sealed class FreeUTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-freeu-");

    public FreeUTests()
    {
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "lora", "kohya-a.safetensors"), "loras/kohya-a.safetensors");
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task FreeU_at_ones_draws_the_plain_image_and_each_class_at_its_defaults_another()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var plain = await ImageAsync(host, Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5));
        var ones = await ImageAsync(host, Patched("FreeU", new JsonObject { ["b1"] = 1, ["b2"] = 1, ["s1"] = 1, ["s2"] = 1 }));
        var freeU = await ImageAsync(host, Patched("FreeU", new JsonObject { ["b1"] = 1.1, ["b2"] = 1.2, ["s1"] = 0.9, ["s2"] = 0.2 }));
        var freeUV2 = await ImageAsync(host, Patched("FreeU_V2", new JsonObject { ["b1"] = 1.3, ["b2"] = 1.4, ["s1"] = 0.9, ["s2"] = 0.2 }));
        var withLora = Patched("FreeU", new JsonObject { ["b1"] = 1.1, ["b2"] = 1.2, ["s1"] = 0.9, ["s2"] = 0.2 }, lora: true);

        Assert.Equal(plain, ones);
        Assert.NotEqual(plain, freeU);
        Assert.NotEqual(freeU, freeUV2);
        Assert.NotEqual(freeU, await ImageAsync(host, withLora));
    }

    [Fact]
    public void FreeU_V2_without_widget_values_takes_its_own_defaults_and_the_model_from_a_lora()
    {
        var conversion = Convert(Patched("FreeU_V2", new JsonObject(), lora: true));

        Assert.Empty(conversion.NodeErrors);
        var node = conversion.Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal("unet.freeu", node.Type);
        Assert.Equal([1.3, 1.4, 0.9, 0.2], new[] { "b1", "b2", "s1", "s2" }.Select(p => (double)((LiteralValue)node.Parameter(p)!.Value).Value!));
        Assert.Equal(2, ((LiteralValue)node.Parameter("version")!.Value).Value);
        Assert.Equal((ApiPromptConverter.NodeId("10"), "unet_out"), (node.Edge("unet")!.SourceNode, node.Edge("unet")!.SourceOutput));
        var consumer = conversion.Workflow.Nodes.Single(n => n.Inputs.Any(e => e.SourceNode == ApiPromptConverter.NodeId("30")));
        Assert.Equal("unet_out", consumer.Inputs.Single(e => e.SourceNode == ApiPromptConverter.NodeId("30")).SourceOutput);

        var freeU = Convert(Patched("FreeU", new JsonObject())).Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal([1.1, 1.2, 0.9, 0.2], new[] { "b1", "b2", "s1", "s2" }.Select(p => (double)((LiteralValue)freeU.Parameter(p)!.Value).Value!));
        Assert.Equal(1, ((LiteralValue)freeU.Parameter("version")!.Value).Value);
    }

    [Fact]
    public void Every_factor_out_of_range_is_a_node_error_naming_it()
    {
        var conversion = Convert(Patched("FreeU", new JsonObject { ["b1"] = 10.5, ["b2"] = 1.2, ["s1"] = 0.9, ["s2"] = -0.1 }));

        var (classType, errors) = conversion.NodeErrors["30"];
        Assert.Equal("FreeU", classType);
        Assert.Equal([("value_bigger_than_max", "b1"), ("value_smaller_than_min", "s2")], errors.Select(e => (e.Type, e.InputName)));
    }

    [Fact]
    public async Task Object_info_lists_both_classes_with_comfyuis_defaults_and_ranges()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        foreach (var (name, b1, b2) in new[] { ("FreeU", 1.1, 1.2), ("FreeU_V2", 1.3, 1.4) })
        {
            var required = info[name]!["input"]!["required"]!;
            Assert.Equal(["model", "b1", "b2", "s1", "s2"], required.AsObject().Select(p => p.Key));
            Assert.Equal([b1, b2, 0.9, 0.2], new[] { "b1", "b2", "s1", "s2" }.Select(p => required[p]![1]!["default"]!.GetValue<double>()));
            Assert.All(new[] { "b1", "b2", "s1", "s2" }, p => Assert.Equal((0.0, 10.0), (required[p]![1]!["min"]!.GetValue<double>(), required[p]![1]!["max"]!.GetValue<double>())));
            Assert.Equal("model_patches/unet", info[name]!["category"]!.GetValue<string>());
            Assert.Equal(["MODEL"], info[name]!["output"]!.AsArray().Select(o => o!.GetValue<string>()));
        }
    }

    // The default graph on the tiny single file (2 steps, CFG 5) with FreeU (or FreeU_V2) between the checkpoint, or a LoRA
    // loader after it, and the sampler.
    private static JsonObject Patched(string type, JsonObject factors, bool lora = false)
    {
        var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        if (lora)
        {
            prompt["10"] = Node("LoraLoaderModelOnly", new JsonObject { ["model"] = Link("4", 0), ["lora_name"] = "kohya-a.safetensors", ["strength_model"] = 0.8 });
        }

        factors["model"] = Link(lora ? "10" : "4", 0);
        prompt["30"] = Node(type, factors);
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
