using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's SetUnionControlNetType → controlnet.union_type: a union ControlNet (the tiny SDXL ControlNet++ file) typed
/// "canny/lineart/anime_lineart/mlsd" and applied by ControlNetApplyAdvanced draws, through /prompt, the pixels of the same
/// FlowDiffusion workflow written by hand, and other pixels than "auto"; /object_info lists ComfyUI's types; a type
/// ComfyUI does not list is a node error naming type.
/// </summary>
public sealed class UnionControlNetMappingTests : IDisposable
{
    private const string Canny = "canny/lineart/anime_lineart/mlsd";

    private readonly CheckpointHome _home = new("fd-comfy-union-");

    public UnionControlNetMappingTests()
    {
        var sdxl = Path.Combine(CheckpointHome.TestData, "sdxl-tiny");
        _home.Add(Path.Combine(sdxl, "sdxl-fp16.safetensors"), "checkpoints/sdxl-tiny.safetensors");
        _home.Add(Path.Combine(sdxl, "controlnet", "union", "diffusion_pytorch_model.safetensors"), "controlnet/union-promax.safetensors");
        Directory.CreateDirectory(Path.Combine(_home.Folder, "input"));
        File.Copy(Path.Combine(sdxl, "controlnet", "hint-a.png"), Path.Combine(_home.Folder, "input", "hint-a.png"));
        // The hand-written workflow reads the same file from the models folder, a folder the host reads inputs from.
        _home.Add(Path.Combine(sdxl, "controlnet", "hint-a.png"), "hint-a.png");
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task A_typed_union_ControlNet_draws_the_pixels_of_the_hand_written_workflow()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var image = await ClassMappingTests.UploadAsync(host, "/upload/image", "hint.png", await File.ReadAllBytesAsync(Path.Combine(_home.Folder, "models", "hint-a.png")));
        var drawn = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Prompt(Canny, image)));
        var auto = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Prompt("auto", image)));

        Assert.Equal(await IpAdapterMappingTests.RunYamlAsync(host, $$"""
            flowdiffusion: 1
            name: union-equivalent
            nodes:
              model: { node: model.load, with: { path: models/checkpoints/sdxl-tiny.safetensors } }
              positive_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a red circle, syntax: comfyui } }
              negative_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "", syntax: comfyui } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: positive_tokens.tokens } }
              negative: { node: clip.encode, in: { clip: model.clip, tokens: negative_tokens.tokens } }
              controlnet: { node: controlnet.load, with: { path: models/controlnet/union-promax.safetensors } }
              typed: { node: controlnet.union_type, in: { control_net: controlnet.control_net }, with: { type: "{{Canny}}" } }
              hint: { node: image.load, with: { path: models/hint-a.png } }
              controlled_positive:
                node: controlnet.apply
                in: { conditioning: positive.conditioning, control_net: typed.result, image: hint.image }
                with: { strength: 0.7 }
              controlled_negative:
                node: controlnet.apply
                in: { conditioning: negative.conditioning, control_net: typed.result, image: hint.image }
                with: { strength: 0.7 }
              denoiser: { node: unet.denoiser, in: { unet: model.unet } }
              guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: controlled_positive.result, negative: controlled_negative.result }, with: { scale: 5 } }
              latent: { node: latent.empty, with: { width: 64, height: 64, batch: 1 } }
              sample:
                node: diffusion.ksampler
                in: { guider: guider.guider, config: model.scheduler_config, latent_image: latent.latent }
                with: { seed: 5, steps: 2, sampler: euler, scheduler: normal, denoise: 1 }
              decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
              save: { node: image.save, in: { images: decode.image }, with: { prefix: equivalent } }
            """), drawn);
        Assert.NotEqual(auto, drawn);
    }

    [Fact]
    public async Task Object_info_lists_the_union_types()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/SetUnionControlNetType"))!["SetUnionControlNetType"]!;

        Assert.Equal(["auto", "openpose", "depth", "hed/pidi/scribble/ted", Canny, "normal", "segment", "tile", "repaint"],
            info["input"]!["required"]!["type"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["CONTROL_NET"], info["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("conditioning/controlnet", info["category"]!.GetValue<string>());
    }

    [Fact]
    public void A_type_comfyui_does_not_list_is_a_node_error_naming_type()
    {
        var folders = new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input"));
        var prompt = Prompt("canny");

        var (classType, errors) = ApiPromptConverter.Convert(prompt, folders).NodeErrors["11"];

        Assert.Equal("SetUnionControlNetType", classType);
        var error = Assert.Single(errors);
        Assert.Equal(("value_not_in_list", "type"), (error.Type, error.InputName));
        Assert.Empty(ApiPromptConverter.Convert(Prompt(Canny), folders).NodeErrors);
    }

    // The mapping tests' KSampler on the tiny SDXL checkpoint with the union ControlNet of type <paramref name="type"/> on both prompts.
    private static JsonObject Prompt(string type, string image = "hint-a.png")
    {
        var prompt = Txt2Img(model: "sdxl-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        prompt["10"] = Node("ControlNetLoader", new JsonObject { ["control_net_name"] = "union-promax.safetensors" });
        prompt["11"] = Node("SetUnionControlNetType", new JsonObject { ["control_net"] = Link("10", 0), ["type"] = type });
        prompt["12"] = Node("LoadImage", new JsonObject { ["image"] = image });
        prompt["13"] = Node("ControlNetApplyAdvanced", new JsonObject
        {
            ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["control_net"] = Link("11", 0), ["image"] = Link("12", 0),
            ["strength"] = 0.7, ["start_percent"] = 0.0, ["end_percent"] = 1.0,
        });
        prompt["3"]!["inputs"]!["positive"] = Link("13", 0);
        prompt["3"]!["inputs"]!["negative"] = Link("13", 1);
        return prompt;
    }
}
