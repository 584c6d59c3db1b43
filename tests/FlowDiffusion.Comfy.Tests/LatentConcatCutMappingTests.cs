using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's LatentConcat, LatentCut and LatentCutToBatch → latent.concat, latent.cut and latent.cut_to_batch: through /prompt on analytic-sd, whose decoded
/// colours are known (a red and a blue sample joined and cut back), and on the tiny SD 1.x single file, whose pixels equal
/// the same FlowDiffusion workflow written by hand; ComfyUI's combos and ranges refused naming the input, and
/// /object_info. The values are checked position by position in the node pack's LatentConcatCutTests.
/// </summary>
public sealed class LatentConcatCutMappingTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-latentcut-");

    public LatentConcatCutMappingTests() => _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Concat_joins_a_red_and_a_blue_sample_in_order_and_cut_takes_either_back()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = RedAndBlue("x");
        prompt["8"]!["inputs"]!["samples"] = Link("23", 0);
        var (r, g, b, width, height) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
        Assert.Equal((128, 64), (width, height));
        Assert.True(Math.Abs(r - 0.5) < 0.02 && g < 0.02 && Math.Abs(b - 0.5) < 0.02, $"x: ({r:F3}, {g:F3}, {b:F3})");

        // The first 8 columns: red along x, blue along -x (samples2 first).
        foreach (var (dim, red) in new[] { ("x", true), ("-x", false), ("y", true), ("-y", false) })
        {
            prompt = RedAndBlue(dim);
            prompt["24"] = Node("LatentCut", new JsonObject { ["samples"] = Link("23", 0), ["dim"] = dim.TrimStart('-'), ["index"] = 0, ["amount"] = 8 });
            (r, g, b, width, height) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
            Assert.Equal((64, 64), (width, height));
            Assert.True(red ? r > 0.98 && b < 0.02 : b > 0.98 && r < 0.02, $"{dim}: ({r:F3}, {g:F3}, {b:F3})");
        }

        // index −4 with amount past the end: the last 4 rows, samples2's blue.
        prompt = RedAndBlue("y");
        prompt["24"] = Node("LatentCut", new JsonObject { ["samples"] = Link("23", 0), ["dim"] = "y", ["index"] = -4, ["amount"] = 100 });
        (r, g, b, width, height) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
        Assert.Equal((64, 32), (width, height));
        Assert.True(b > 0.98 && r < 0.02, $"last rows: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task Cut_to_batch_along_x_makes_the_red_and_the_blue_half_two_items()
    {
        await using var host = await ComfyHost.StartAsync();
        foreach (var (index, red) in new[] { (0, true), (1, false) })
        {
            var prompt = RedAndBlue("x");
            prompt["24"] = Node("LatentCutToBatch", new JsonObject { ["samples"] = Link("23", 0), ["dim"] = "x", ["slice_size"] = 8 });
            prompt["27"] = Node("LatentFromBatch", new JsonObject { ["samples"] = Link("24", 0), ["batch_index"] = index, ["length"] = 1 });
            prompt["8"]!["inputs"]!["samples"] = Link("27", 0);
            var (r, g, b, width, height) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
            Assert.Equal((64, 64), (width, height));
            Assert.True(red ? r > 0.98 && b < 0.02 : b > 0.98 && r < 0.02, $"item {index}: ({r:F3}, {g:F3}, {b:F3})");
        }
    }

    [Fact]
    public async Task A_concat_and_cut_prompt_draws_the_pixels_of_the_same_FlowDiffusion_workflow()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        // The sample below the empty latent ("-y" puts samples2, the zeros, first); rows 4 … 11 keep half of each.
        var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", size: 64, steps: 2, cfg: 5);
        prompt["20"] = Node("LatentConcat", new JsonObject { ["samples1"] = Link("3", 0), ["samples2"] = Link("5", 0), ["dim"] = "-y" });
        prompt["21"] = Node("LatentCut", new JsonObject { ["samples"] = Link("20", 0), ["dim"] = "y", ["index"] = -12, ["amount"] = 8 });
        prompt["8"]!["inputs"]!["samples"] = Link("21", 0);
        var drawn = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
        var plain = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", size: 64, steps: 2, cfg: 5)));

        Assert.Equal(await IpAdapterMappingTests.RunYamlAsync(host, $$"""
            flowdiffusion: 1
            name: concat-cut-equivalent
            nodes:
              model: { node: model.load, with: { path: models/checkpoints/sd1-tiny.safetensors } }
              joined: { node: latent.concat, in: { samples1: sample.latent, samples2: latent.latent }, with: { dim: "-y" } }
              cut: { node: latent.cut, in: { samples: joined.concatenated }, with: { dim: y, index: -12, amount: 8 } }
            {{HandWrittenKSampler.Nodes("model.unet", "model.clip", 64, "cut.cut")}}
            """), drawn);
        Assert.Equal(plain.Length, drawn.Length);
        Assert.NotEqual(plain, drawn);
    }

    [Theory]
    [InlineData("LatentConcat", "dim", "z", "value_not_in_list")]
    [InlineData("LatentConcat", "dim", "-z", "value_not_in_list")]
    [InlineData("LatentCut", "dim", "-x", "value_not_in_list")]
    [InlineData("LatentCut", "index", -16385, "value_smaller_than_min")]
    [InlineData("LatentCut", "index", 16385, "value_bigger_than_max")]
    [InlineData("LatentCut", "amount", 0, "value_smaller_than_min")]
    [InlineData("LatentCut", "amount", 16385, "value_bigger_than_max")]
    [InlineData("LatentCutToBatch", "dim", "-x", "value_not_in_list")]
    [InlineData("LatentCutToBatch", "slice_size", 0, "value_smaller_than_min")]
    [InlineData("LatentCutToBatch", "slice_size", 16385, "value_bigger_than_max")]
    public void A_value_comfyui_refuses_is_a_node_error_naming_the_input(string classType, string input, object value, string type)
    {
        var prompt = RedAndBlue("x");
        prompt["24"] = classType == "LatentCutToBatch"
            ? Node("LatentCutToBatch", new JsonObject { ["samples"] = Link("23", 0), ["dim"] = "x", ["slice_size"] = 1 })
            : Node("LatentCut", new JsonObject { ["samples"] = Link("23", 0), ["dim"] = "x", ["index"] = 0, ["amount"] = 1 });
        var id = classType == "LatentConcat" ? "23" : "24";
        prompt[id]!["inputs"]![input] = JsonValue.Create(value);

        var (reported, errors) = Convert(prompt).NodeErrors[id];

        Assert.Equal(classType, reported);
        var error = Assert.Single(errors);
        Assert.Equal((type, input), (error.Type, error.InputName));
    }

    [Theory]
    [InlineData("LatentConcat", "samples1", "x", true)]
    [InlineData("LatentConcat", "samples1", "-y", true)]
    [InlineData("LatentConcat", "samples1", "t", false)]
    [InlineData("LatentCut", "samples", "y", true)]
    [InlineData("LatentCut", "samples", "t", false)]
    [InlineData("LatentCutToBatch", "samples", "x", true)]
    [InlineData("LatentCutToBatch", "samples", "t", false)]
    public void A_noise_mask_before_a_join_or_cut_along_x_or_y_is_refused_naming_the_input(string classType, string input, string dim, bool refused)
    {
        var prompt = RedAndBlue(classType == "LatentConcat" ? dim : "x");
        prompt["24"] = Node(classType == "LatentCutToBatch" ? classType : "LatentCut", new JsonObject { ["samples"] = Link("23", 0), ["dim"] = classType == "LatentConcat" ? "t" : dim });
        prompt["25"] = Node("SolidMask", new JsonObject { ["value"] = 1, ["width"] = 64, ["height"] = 64 });
        var id = classType == "LatentConcat" ? "23" : "24";
        prompt["26"] = Node("SetLatentNoiseMask", new JsonObject { ["samples"] = classType == "LatentConcat" ? Link("3", 0) : Link("23", 0), ["mask"] = Link("25", 0) });
        prompt[id]!["inputs"]![input] = Link("26", 0);

        var errors = Convert(prompt).NodeErrors;

        if (!refused)
        {
            Assert.Empty(errors);
            return;
        }

        var (reported, nodeErrors) = errors[id];
        Assert.Equal(classType, reported);
        var error = Assert.Single(nodeErrors);
        Assert.Equal(("value_not_supported", input), (error.Type, error.InputName));
        Assert.Contains("noise mask", error.Details);
    }

    [Fact]
    public void The_conversion_links_the_nodes_with_their_settings_and_comfyuis_defaults()
    {
        var prompt = RedAndBlue("-y");
        prompt["24"] = Node("LatentCut", new JsonObject { ["samples"] = Link("23", 0) });
        var conversion = Convert(prompt);

        Assert.Empty(conversion.NodeErrors);
        var concat = conversion.Workflow!.Node(ApiPromptConverter.NodeId("23"))!;
        Assert.Equal("latent.concat", concat.Type);
        Assert.Equal("-y", ((LiteralValue)concat.Parameter("dim")!.Value).Value);
        Assert.Equal(ApiPromptConverter.NodeId("3"), concat.Edge("samples1")!.SourceNode);
        Assert.Equal(ApiPromptConverter.NodeId("22"), concat.Edge("samples2")!.SourceNode);
        var cut = conversion.Workflow.Node(ApiPromptConverter.NodeId("24"))!;
        Assert.Equal(("latent.cut", "concatenated"), (cut.Type, cut.Edge("samples")!.SourceOutput));
        Assert.Equal(["x", 0L, 1L], new[] { "dim", "index", "amount" }.Select(p => ((LiteralValue)cut.Parameter(p)!.Value).Value));
    }

    [Fact]
    public async Task Object_info_lists_the_classes_with_comfyuis_inputs_and_ranges()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        var concat = info["LatentConcat"]!["input"]!["required"]!;
        Assert.Equal(["samples1", "samples2", "dim"], concat.AsObject().Select(p => p.Key));
        Assert.Equal(["x", "-x", "y", "-y", "t", "-t"], concat["dim"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        var cut = info["LatentCut"]!["input"]!["required"]!;
        Assert.Equal(["samples", "dim", "index", "amount"], cut.AsObject().Select(p => p.Key));
        Assert.Equal(["x", "y", "t"], cut["dim"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        var (index, amount) = (cut["index"]![1]!, cut["amount"]![1]!);
        Assert.Equal((0.0, -16384.0, 16384.0), (index["default"]!.GetValue<double>(), index["min"]!.GetValue<double>(), index["max"]!.GetValue<double>()));
        Assert.Equal((1.0, 1.0, 16384.0), (amount["default"]!.GetValue<double>(), amount["min"]!.GetValue<double>(), amount["max"]!.GetValue<double>()));
        var toBatch = info["LatentCutToBatch"]!["input"]!["required"]!;
        Assert.Equal(["samples", "dim", "slice_size"], toBatch.AsObject().Select(p => p.Key));
        Assert.Equal(["t", "x", "y"], toBatch["dim"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        var size = toBatch["slice_size"]![1]!;
        Assert.Equal((1.0, 1.0, 16384.0), (size["default"]!.GetValue<double>(), size["min"]!.GetValue<double>(), size["max"]!.GetValue<double>()));
        foreach (var name in new[] { "LatentConcat", "LatentCut", "LatentCutToBatch" })
        {
            Assert.Equal(["LATENT"], info[name]!["output"]!.AsArray().Select(o => o!.GetValue<string>()));
            Assert.Equal("latent/advanced", info[name]!["category"]!.GetValue<string>());
        }
    }

    // analytic-sd's red sample (3) and a blue one (22) at 64 × 64, joined along dim by LatentConcat (23); VAEDecode (8)
    // reads 24, the LatentCut a test adds.
    private static JsonObject RedAndBlue(string dim)
    {
        var prompt = Txt2Img(text: "red", steps: 4);
        prompt["21"] = Node("CLIPTextEncode", new JsonObject { ["clip"] = Link("4", 1), ["text"] = "blue" });
        prompt["22"] = Node("KSampler", new JsonObject
        {
            ["model"] = Link("4", 0), ["seed"] = 1, ["steps"] = 4, ["cfg"] = 1, ["sampler_name"] = "euler", ["scheduler"] = "normal", ["denoise"] = 1,
            ["positive"] = Link("21", 0), ["negative"] = Link("7", 0), ["latent_image"] = Link("5", 0),
        });
        prompt["23"] = Node("LatentConcat", new JsonObject { ["samples1"] = Link("3", 0), ["samples2"] = Link("22", 0), ["dim"] = dim });
        prompt["8"]!["inputs"]!["samples"] = Link("24", 0);
        return prompt;
    }

    private PromptConversion Convert(JsonObject prompt) =>
        ApiPromptConverter.Convert(prompt, new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input")), requireFiles: false);
}
