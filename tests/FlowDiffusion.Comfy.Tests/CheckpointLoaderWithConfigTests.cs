using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's deprecated CheckpointLoader (config_name + ckpt_name) on the tiny SD 1.x single file: what ComfyUI's
/// load_checkpoint takes from its shipped configs draws, through /prompt, the pixels of the same change made with the
/// current classes — v1-inference.yaml nothing (CheckpointLoaderSimple), a clip_skip_2 config CLIPSetLastLayer −2, a
/// v2 "-v" config ModelSamplingDiscrete v_prediction; any other config name, and a missing checkpoint, are node errors
/// naming the input; /object_info lists the shipped configs.
/// </summary>
public sealed class CheckpointLoaderWithConfigTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-ckpt-config-");

    public CheckpointLoaderWithConfigTests() =>
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Each_shipped_configs_change_draws_the_pixels_of_the_same_change_made_with_current_classes()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        async Task<byte[]> Draw(JsonObject prompt) => ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
        var plain = await Draw(Drawing());

        var skipped = Drawing();
        skipped["40"] = Node("CLIPSetLastLayer", new JsonObject { ["clip"] = Link("4", 1), ["stop_at_clip_layer"] = -2 });
        skipped["6"]!["inputs"]!["clip"] = Link("40", 0);
        skipped["7"]!["inputs"]!["clip"] = Link("40", 0);
        var clipSkip = await Draw(skipped);

        var vModel = Drawing();
        vModel["41"] = Node("ModelSamplingDiscrete", new JsonObject { ["model"] = Link("4", 0), ["sampling"] = "v_prediction", ["zsnr"] = false });
        vModel["3"]!["inputs"]!["model"] = Link("41", 0);
        var vPrediction = await Draw(vModel);

        Assert.NotEqual(plain, clipSkip);
        Assert.NotEqual(plain, vPrediction);
        Assert.Equal(plain, await Draw(Drawing("v1-inference.yaml")));
        Assert.Equal(clipSkip, await Draw(Drawing("v1-inference_clip_skip_2.yaml")));
        Assert.Equal(clipSkip, await Draw(Drawing("anything_v3.yaml")));
        Assert.Equal(vPrediction, await Draw(Drawing("v2-inference-v.yaml")));
    }

    [Fact]
    public void A_config_that_is_not_shipped_and_a_missing_checkpoint_are_node_errors_naming_the_input()
    {
        var folders = new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input"));
        ComfyNodeError ErrorOf(string? config, string checkpoint)
        {
            var prompt = Drawing(config);
            prompt["4"]!["inputs"]!["ckpt_name"] = checkpoint;
            var (classType, errors) = ApiPromptConverter.Convert(prompt, folders).NodeErrors["4"];
            Assert.Equal("CheckpointLoader", classType);
            return Assert.Single(errors);
        }

        var config = ErrorOf("my-model.yaml", "sd1-tiny.safetensors");
        Assert.Equal(("value_not_in_list", "config_name"), (config.Type, config.InputName));
        Assert.Contains("'v2-inference-v.yaml'", config.Details);
        var checkpoint = ErrorOf("v1-inference.yaml", "missing.safetensors");
        Assert.Equal(("value_not_in_list", "ckpt_name"), (checkpoint.Type, checkpoint.InputName));
        var parameterless = Drawing("v1-inference.yaml");
        ((JsonObject)parameterless["4"]!["inputs"]!).Remove("config_name");
        Assert.Equal("config_name", Assert.Single(ApiPromptConverter.Convert(parameterless, folders).NodeErrors["4"].Errors).InputName);
        Assert.Empty(ApiPromptConverter.Convert(Drawing("v2-inference-v_fp32.yaml"), folders).NodeErrors);
    }

    [Fact]
    public async Task Object_info_lists_comfyuis_shipped_configs_and_the_checkpoints()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/CheckpointLoader"))!["CheckpointLoader"]!;
        var required = info["input"]!["required"]!;

        Assert.Equal(["config_name", "ckpt_name"], required.AsObject().Select(p => p.Key));
        Assert.Equal(
            ["anything_v3.yaml", "v1-inference.yaml", "v1-inference_clip_skip_2.yaml", "v1-inference_clip_skip_2_fp16.yaml", "v1-inference_fp16.yaml",
                "v1-inpainting-inference.yaml", "v2-inference-v.yaml", "v2-inference-v_fp32.yaml", "v2-inference.yaml", "v2-inference_fp32.yaml", "v2-inpainting-inference.yaml"],
            required["config_name"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Contains("sd1-tiny.safetensors", required["ckpt_name"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["MODEL", "CLIP", "VAE"], info["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("Load Checkpoint With Config (DEPRECATED)", info["display_name"]!.GetValue<string>());
    }

    // The tiny checkpoint's txt2img (2 steps, CFG 5), loaded by CheckpointLoader with config when one is given.
    private static JsonObject Drawing(string? config = null)
    {
        var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        if (config is not null) prompt["4"] = Node("CheckpointLoader", new JsonObject { ["config_name"] = config, ["ckpt_name"] = "sd1-tiny.safetensors" });
        return prompt;
    }
}
