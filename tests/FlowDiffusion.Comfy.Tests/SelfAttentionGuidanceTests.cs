using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// SelfAttentionGuidance through /prompt: its scale and blur sigma ride on the MODEL to guidance.cfg's sag_scale and
/// sag_blur_sigma with the model's configuration, beside CFGZeroStar and CFGNorm (before CFGNorm only); scale 0 converts to
/// the plain guider and draws the plain image pixel for pixel on the tiny SD 1.x checkpoint, a non-zero scale changes it;
/// PAG, TCFG and a zero blur are node errors. The arithmetic is checked in the node pack's SelfAttentionGuidanceTests and
/// against torch in the checkpoint builder's SelfAttentionGuidanceReferenceTests.
/// </summary>
public sealed class SelfAttentionGuidanceTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-sag-");

    public SelfAttentionGuidanceTests() => _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Fact]
    public void The_scale_and_blur_ride_on_the_model_to_the_guider_with_the_other_patches_and_the_models_configuration()
    {
        var prompt = Txt2Img(cfg: 6);
        prompt["20"] = Node("CFGZeroStar", new JsonObject { ["model"] = Link("4", 0) });
        prompt["21"] = Node("SelfAttentionGuidance", new JsonObject { ["model"] = Link("20", 0), ["scale"] = 0.8, ["blur_sigma"] = 1.5 });
        prompt["22"] = Node("CFGNorm", new JsonObject { ["model"] = Link("21", 0), ["strength"] = 0.9 });
        prompt["3"]!["inputs"]!["model"] = Link("22", 0);

        var guider = Guider(prompt);

        foreach (var (name, value) in new (string, object)[] { ("scale", 6.0), ("zero_star", true), ("sag_scale", 0.8), ("sag_blur_sigma", 1.5), ("cfg_norm", true) })
            Assert.Equal(value, ((LiteralValue)guider.Parameter(name)!.Value).Value);
        Assert.Equal((ApiPromptConverter.NodeId("4"), "scheduler_config"), (guider.Edge("config")!.SourceNode, guider.Edge("config")!.SourceOutput));
    }

    [Fact]
    public void Scale_zero_converts_to_the_plain_guider_and_the_defaults_are_comfyuis()
    {
        var plain = Guider(Txt2Img(cfg: 6));
        var guider = Guider(WithSag(Txt2Img(cfg: 6), new JsonObject { ["scale"] = 0 }));
        var byDefault = Guider(WithSag(Txt2Img(cfg: 6), []));

        Assert.Null(guider.Parameter("sag_scale"));
        Assert.Null(guider.Edge("config"));
        Assert.Equal(plain.Parameters.Select(p => p.Name), guider.Parameters.Select(p => p.Name));
        Assert.Equal(0.5, ((LiteralValue)byDefault.Parameter("sag_scale")!.Value).Value);
        Assert.Equal(2.0, ((LiteralValue)byDefault.Parameter("sag_blur_sigma")!.Value).Value);
    }

    [Fact]
    public async Task On_the_tiny_checkpoint_scale_zero_draws_the_plain_image_pixel_for_pixel_and_scale_half_another()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        JsonObject Prompt() => Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        var plain = await PixelsAsync(host, Prompt());

        Assert.Equal(plain, await PixelsAsync(host, WithSag(Prompt(), new JsonObject { ["scale"] = 0 })));
        Assert.NotEqual(plain, await PixelsAsync(host, WithSag(Prompt(), new JsonObject { ["scale"] = 0.5 })));
    }

    [Theory]
    [InlineData("CFGNorm", "SAG", "21", "SelfAttentionGuidance after CFGNorm is not supported")]
    [InlineData("SAG", "SAG", "21", "SelfAttentionGuidance is already applied")]
    [InlineData("PAG", "SAG", "21", "SelfAttentionGuidance with PerturbedAttentionGuidance is not supported")]
    [InlineData("SAG", "PAG", "21", "PerturbedAttentionGuidance with SelfAttentionGuidance is not supported")]
    [InlineData("TCFG", "SAG", "21", "SelfAttentionGuidance with TCFG is not supported")]
    [InlineData("SAG", "TCFG", "21", "TCFG with SelfAttentionGuidance is not supported")]
    [InlineData("SAG blur 0", null, "20", "blur_sigma: 0 is not supported")]
    [InlineData("SAG scale 6", null, "20", "scale: 6 is above 5")]
    public async Task Unsupported_or_out_of_range_uses_are_node_errors(string first, string? second, string node, string message)
    {
        static JsonObject Patch(string what, string model) => what switch
        {
            "CFGNorm" => Node("CFGNorm", new JsonObject { ["model"] = Link(model, 0), ["strength"] = 1 }),
            "PAG" => Node("PerturbedAttentionGuidance", new JsonObject { ["model"] = Link(model, 0), ["scale"] = 3 }),
            "TCFG" => Node("TCFG", new JsonObject { ["model"] = Link(model, 0) }),
            "SAG blur 0" => Node("SelfAttentionGuidance", new JsonObject { ["model"] = Link(model, 0), ["scale"] = 0.5, ["blur_sigma"] = 0 }),
            "SAG scale 6" => Node("SelfAttentionGuidance", new JsonObject { ["model"] = Link(model, 0), ["scale"] = 6, ["blur_sigma"] = 2 }),
            _ => Node("SelfAttentionGuidance", new JsonObject { ["model"] = Link(model, 0), ["scale"] = 0.5, ["blur_sigma"] = 2 }),
        };
        await using var host = await ComfyHost.StartAsync();
        var prompt = Txt2Img(cfg: 5);
        prompt["20"] = Patch(first, "4");
        var last = "20";
        if (second is not null) (prompt["21"], last) = (Patch(second, "20"), "21");
        prompt["3"]!["inputs"]!["model"] = Link(last, 0);

        var (status, body) = await host.PostPromptAsync(prompt);

        Assert.Equal(400, status);
        Assert.Contains(message, body["node_errors"]![node]!["errors"]![0]!["details"]!.GetValue<string>());
    }

    [Fact]
    public async Task Object_info_lists_comfyuis_inputs()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/SelfAttentionGuidance"))!["SelfAttentionGuidance"]!;

        Assert.Equal(("_for_testing", "Self-Attention Guidance"), (info["category"]!.GetValue<string>(), info["display_name"]!.GetValue<string>()));
        Assert.Equal(["model", "scale", "blur_sigma"], info["input"]!["required"]!.AsObject().Select(p => p.Key));
        var scale = info["input"]!["required"]!["scale"]![1]!;
        var blur = info["input"]!["required"]!["blur_sigma"]![1]!;
        Assert.Equal((0.5, -2.0, 5.0, 0.01), (scale["default"]!.GetValue<double>(), scale["min"]!.GetValue<double>(), scale["max"]!.GetValue<double>(), scale["step"]!.GetValue<double>()));
        Assert.Equal((2.0, 0.0, 10.0, 0.1), (blur["default"]!.GetValue<double>(), blur["min"]!.GetValue<double>(), blur["max"]!.GetValue<double>(), blur["step"]!.GetValue<double>()));
        Assert.Equal(["MODEL"], info["output"]!.AsArray().Select(o => o!.GetValue<string>()));
    }

    private static JsonObject WithSag(JsonObject prompt, JsonObject inputs)
    {
        inputs["model"] = Link("4", 0);
        prompt["20"] = Node("SelfAttentionGuidance", inputs);
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
