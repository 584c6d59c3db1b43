using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's RescaleCFG: the multiplier rides on the MODEL to the guidance.cfg of every sampler it reaches (through LoRA
/// loaders too), with the model's scheduler configuration for its prediction type. The arithmetic is checked against
/// torch in FlowDiffusion.Diffusion.Tests (CfgRescaleTests); here the wiring, on shapes-sd (a trained model, whose guided predictions spread more than its conditional ones at CFG 8).
/// </summary>
public sealed class RescaleCfgTests
{
    [Fact]
    public async Task Multiplier_zero_leaves_the_image_and_a_multiplier_changes_it()
    {
        await using var host = await ComfyHost.StartAsync();
        var plain = await ImageAsync(host, Prompts.Txt2Img(model: "shapes-sd", text: "a red circle on a blue background", steps: 8, cfg: 8, seed: 3));
        var off = await ImageAsync(host, Rescaled(0));
        var on = await ImageAsync(host, Rescaled(0.7));

        Assert.Equal(plain, off);
        var differing = plain.Zip(on).Count(p => p.First != p.Second);
        Assert.True(differing > plain.Length / 10, $"RescaleCFG 0.7: only {differing} of {plain.Length} channel values differ");
    }

    [Fact]
    public void The_guider_gets_the_multiplier_and_the_models_scheduler_configuration_through_a_lora()
    {
        var prompt = Rescaled(0.4);
        prompt["40"] = new JsonObject { ["class_type"] = "LoraLoaderModelOnly", ["inputs"] = new JsonObject { ["model"] = new JsonArray("30", 0),
            ["lora_name"] = "ink.safetensors", ["strength_model"] = 0.5 } };
        prompt["3"]!["inputs"]!["model"] = new JsonArray("40", 0);
        var models = Path.Combine(Path.GetTempPath(), "fd-rescale-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(models, "loras"));
        try
        {
            File.WriteAllBytes(Path.Combine(models, "loras", "ink.safetensors"), [0]);
            var conversion = ApiPromptConverter.Convert(prompt, new ComfyFolders(models, RepositoryRoot.Path, Path.Combine(models, "input")), requireFiles: false);

            Assert.Empty(conversion.NodeErrors);
            var guider = conversion.Workflow!.Node(ApiPromptConverter.NodeId("3", "guider"))!;
            Assert.Equal("guidance.cfg", guider.Type);
            Assert.Equal(0.4, ((LiteralValue)guider.Parameter("rescale")!.Value).Value);
            Assert.Equal((ApiPromptConverter.NodeId("4"), "scheduler_config"), (guider.Edge("config")!.SourceNode, guider.Edge("config")!.SourceOutput));
        }
        finally
        {
            Directory.Delete(models, recursive: true);
        }
    }

    [Fact]
    public async Task A_multiplier_beyond_one_is_a_node_error()
    {
        await using var host = await ComfyHost.StartAsync();
        var (status, body) = await host.PostPromptAsync(Rescaled(1.5));
        Assert.Equal(400, status);
        Assert.Equal("value_bigger_than_max", body["node_errors"]!["30"]!["errors"]![0]!["type"]!.GetValue<string>());
    }

    // The default graph on shapes-sd with RescaleCFG between the checkpoint and the sampler.
    private static JsonObject Rescaled(double multiplier)
    {
        var prompt = Prompts.Txt2Img(model: "shapes-sd", text: "a red circle on a blue background", steps: 8, cfg: 8, seed: 3);
        prompt["30"] = new JsonObject { ["class_type"] = "RescaleCFG", ["inputs"] = new JsonObject { ["model"] = new JsonArray("4", 0), ["multiplier"] = multiplier } };
        prompt["3"]!["inputs"]!["model"] = new JsonArray("30", 0);
        return prompt;
    }

    private static async Task<byte[]> ImageAsync(ComfyHost host, JsonObject prompt)
    {
        using var bitmap = SKBitmap.Decode(await ClassMappingTests.RunForImageAsync(host, prompt));
        return bitmap.Bytes;
    }
}
