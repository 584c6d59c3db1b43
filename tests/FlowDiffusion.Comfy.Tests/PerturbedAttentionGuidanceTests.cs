using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// PerturbedAttentionGuidance through /prompt: its scale rides on the MODEL to guidance.cfg's pag_scale with the model's
/// configuration, beside CFGZeroStar and CFGNorm (before CFGNorm only); scale 0 converts to the plain guider and draws the
/// plain image pixel for pixel on the tiny SD 1.x checkpoint, a non-zero scale changes it. The arithmetic against the
/// UNet's own predictions is checked in the node pack's PerturbedAttentionGuidanceTests.
/// </summary>
public sealed class PerturbedAttentionGuidanceTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-pag-");

    public PerturbedAttentionGuidanceTests() => _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Fact]
    public void The_scale_rides_on_the_model_to_the_guider_with_the_other_patches_and_the_models_configuration()
    {
        var prompt = Txt2Img(cfg: 6);
        prompt["20"] = Node("CFGZeroStar", new JsonObject { ["model"] = Link("4", 0) });
        prompt["21"] = Node("PerturbedAttentionGuidance", new JsonObject { ["model"] = Link("20", 0), ["scale"] = 2.5 });
        prompt["22"] = Node("CFGNorm", new JsonObject { ["model"] = Link("21", 0), ["strength"] = 0.9 });
        prompt["3"]!["inputs"]!["model"] = Link("22", 0);

        var guider = Guider(prompt);

        foreach (var (name, value) in new (string, object)[] { ("scale", 6.0), ("zero_star", true), ("pag_scale", 2.5), ("cfg_norm", true), ("cfg_norm_strength", 0.9) })
            Assert.Equal(value, ((LiteralValue)guider.Parameter(name)!.Value).Value);
        Assert.Equal((ApiPromptConverter.NodeId("4"), "scheduler_config"), (guider.Edge("config")!.SourceNode, guider.Edge("config")!.SourceOutput));
    }

    [Fact]
    public void Scale_zero_converts_to_the_plain_guider_and_the_default_scale_is_comfyuis()
    {
        var plain = Guider(Txt2Img(cfg: 6));
        var off = Txt2Img(cfg: 6);
        off["20"] = Node("PerturbedAttentionGuidance", new JsonObject { ["model"] = Link("4", 0), ["scale"] = 0 });
        off["3"]!["inputs"]!["model"] = Link("20", 0);
        var byDefault = Txt2Img(cfg: 6);
        byDefault["20"] = Node("PerturbedAttentionGuidance", new JsonObject { ["model"] = Link("4", 0) });
        byDefault["3"]!["inputs"]!["model"] = Link("20", 0);

        var guider = Guider(off);
        Assert.Null(guider.Parameter("pag_scale"));
        Assert.Null(guider.Edge("config"));
        Assert.Equal(plain.Parameters.Select(p => p.Name), guider.Parameters.Select(p => p.Name));
        Assert.Equal(3.0, ((LiteralValue)Guider(byDefault).Parameter("pag_scale")!.Value).Value);
    }

    [Fact]
    public async Task On_the_tiny_checkpoint_scale_zero_draws_the_plain_image_pixel_for_pixel_and_scale_three_another()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var plain = await PixelsAsync(host, Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5));

        Assert.Equal(plain, await PixelsAsync(host, WithPag(0)));
        Assert.NotEqual(plain, await PixelsAsync(host, WithPag(3)));
    }

    [Theory]
    [InlineData("CFGNorm then PAG", "21", "PerturbedAttentionGuidance after CFGNorm is not supported")]
    [InlineData("PAG twice", "21", "PerturbedAttentionGuidance is already applied")]
    [InlineData("PAG range", "20", "scale: 101 is above 100")]
    public async Task Unsupported_or_out_of_range_uses_are_node_errors(string chain, string node, string message)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Txt2Img(cfg: 5);
        prompt["20"] = chain == "CFGNorm then PAG"
            ? Node("CFGNorm", new JsonObject { ["model"] = Link("4", 0), ["strength"] = 1 })
            : Node("PerturbedAttentionGuidance", new JsonObject { ["model"] = Link("4", 0), ["scale"] = chain == "PAG range" ? 101 : 3 });
        var last = "20";
        if (chain != "PAG range") (prompt["21"], last) = (Node("PerturbedAttentionGuidance", new JsonObject { ["model"] = Link("20", 0), ["scale"] = 2 }), "21");
        prompt["3"]!["inputs"]!["model"] = Link(last, 0);

        var (status, body) = await host.PostPromptAsync(prompt);

        Assert.Equal(400, status);
        Assert.Contains(message, body["node_errors"]![node]!["errors"]![0]!["details"]!.GetValue<string>());
    }

    [Fact]
    public async Task Object_info_lists_comfyuis_inputs()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/PerturbedAttentionGuidance"))!["PerturbedAttentionGuidance"]!;

        Assert.Equal("_for_testing", info["category"]!.GetValue<string>());
        Assert.Equal(["model", "scale"], info["input"]!["required"]!.AsObject().Select(p => p.Key));
        var scale = info["input"]!["required"]!["scale"]![1]!;
        Assert.Equal((3.0, 0.0, 100.0, 0.1, 0.01), (scale["default"]!.GetValue<double>(), scale["min"]!.GetValue<double>(), scale["max"]!.GetValue<double>(), scale["step"]!.GetValue<double>(), scale["round"]!.GetValue<double>()));
        Assert.Equal(["MODEL"], info["output"]!.AsArray().Select(o => o!.GetValue<string>()));
    }

    private static JsonObject WithPag(double scale)
    {
        var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        prompt["20"] = Node("PerturbedAttentionGuidance", new JsonObject { ["model"] = Link("4", 0), ["scale"] = scale });
        prompt["3"]!["inputs"]!["model"] = Link("20", 0);
        return prompt;
    }

    private static WorkflowNode Guider(JsonObject prompt)
    {
        var conversion = ApiPromptConverter.Convert(prompt, new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.GetTempPath()), requireFiles: false);
        Assert.Empty(conversion.NodeErrors);
        var guider = conversion.Workflow!.Node(ApiPromptConverter.NodeId("3", "guider"))!;
        Assert.Equal("guidance.cfg", guider.Type);
        return guider;
    }

    private static async Task<byte[]> PixelsAsync(ComfyHost host, JsonObject prompt)
    {
        using var bitmap = SKBitmap.Decode(await ClassMappingTests.RunForImageAsync(host, prompt));
        return bitmap.Bytes;
    }
}
