using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// SDXL control files in models/controlnet through /prompt. ComfyUI's SetUnionControlNetType → controlnet.union_type: a
/// union ControlNet (the tiny SDXL ControlNet++ file) typed "canny/lineart/anime_lineart/mlsd" and applied by
/// ControlNetApplyAdvanced draws the pixels of the same FlowDiffusion workflow written by hand, and other pixels than
/// "auto"; /object_info lists ComfyUI's types; a type ComfyUI does not list is a node error naming type. A Control-LoRA
/// loaded by ControlNetLoader draws the hand-written workflow's pixels too.
/// </summary>
public sealed class SdxlControlNetMappingTests : IDisposable
{
    private const string Canny = "canny/lineart/anime_lineart/mlsd";

    private readonly CheckpointHome _home = new("fd-comfy-union-");

    public SdxlControlNetMappingTests()
    {
        var sdxl = Path.Combine(CheckpointHome.TestData, "sdxl-tiny");
        _home.Add(Path.Combine(sdxl, "sdxl-fp16.safetensors"), "checkpoints/sdxl-tiny.safetensors");
        _home.Add(Path.Combine(sdxl, "controlnet", "union", "diffusion_pytorch_model.safetensors"), "controlnet/union-promax.safetensors");
        _home.Add(Path.Combine(sdxl, "controlnet", "control-lora", "control-lora.safetensors"), "controlnet/control-lora-canny-rank2.safetensors");
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

        Assert.Equal(await RunHandWrittenAsync(host, "union-promax.safetensors", Canny), drawn);
        Assert.NotEqual(auto, drawn);
    }

    [Fact]
    public async Task A_Control_LoRA_draws_the_pixels_of_the_hand_written_workflow()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var image = await ClassMappingTests.UploadAsync(host, "/upload/image", "hint.png", await File.ReadAllBytesAsync(Path.Combine(_home.Folder, "models", "hint-a.png")));
        var prompt = Prompt("auto", image);
        prompt["10"]!["inputs"]!["control_net_name"] = "control-lora-canny-rank2.safetensors";
        prompt["13"]!["inputs"]!["control_net"] = Link("10", 0);
        prompt.Remove("11");
        var drawn = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));

        Assert.Equal(await RunHandWrittenAsync(host, "control-lora-canny-rank2.safetensors", null), drawn);
        Assert.NotEqual(ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Txt2Img(model: "sdxl-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5))), drawn);
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
    public void DiffControlNetLoader_loads_the_file_with_controlnet_load_and_needs_its_model()
    {
        var folders = new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input"));
        var prompt = Prompt("auto");
        prompt["10"] = Node("DiffControlNetLoader", new JsonObject { ["model"] = Link("4", 0), ["control_net_name"] = "control-lora-canny-rank2.safetensors" });

        var conversion = ApiPromptConverter.Convert(prompt, folders);

        Assert.Empty(conversion.NodeErrors);
        var load = conversion.Workflow!.Node(ApiPromptConverter.NodeId("10"))!;
        Assert.Equal("controlnet.load", load.Type);
        Assert.EndsWith("controlnet/control-lora-canny-rank2.safetensors", ((string)((FlowDiffusion.Engine.Workflows.LiteralValue)load.Parameter("path")!.Value).Value!).Replace('\\', '/'));
        prompt["10"]!["inputs"]!.AsObject().Remove("model");
        var (classType, errors) = ApiPromptConverter.Convert(prompt, folders).NodeErrors["10"];
        Assert.Equal("DiffControlNetLoader", classType);
        Assert.Equal("model", Assert.Single(errors).InputName);
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

    // The KSampler of Prompt written as FlowDiffusion nodes, the ControlNet models/controlnet/<controlnet> typed
    // <type> (null: no union_type node) on both prompts at 0.7.
    private static Task<byte[]> RunHandWrittenAsync(ComfyHost host, string controlnet, string? type)
    {
        var typed = type is null ? "" : $$"""
              typed: { node: controlnet.union_type, in: { control_net: controlnet.control_net }, with: { type: "{{type}}" } }
            """;
        var net = type is null ? "controlnet.control_net" : "typed.result";
        return IpAdapterMappingTests.RunYamlAsync(host, $$"""
            flowdiffusion: 1
            name: controlnet-equivalent
            nodes:
              model: { node: model.load, with: { path: models/checkpoints/sdxl-tiny.safetensors } }
              positive_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a red circle, syntax: comfyui } }
              negative_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "", syntax: comfyui } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: positive_tokens.tokens } }
              negative: { node: clip.encode, in: { clip: model.clip, tokens: negative_tokens.tokens } }
              controlnet: { node: controlnet.load, with: { path: models/controlnet/{{controlnet}} } }
            {{typed}}
              hint: { node: image.load, with: { path: models/hint-a.png } }
              controlled_positive:
                node: controlnet.apply
                in: { conditioning: positive.conditioning, control_net: {{net}}, image: hint.image }
                with: { strength: 0.7 }
              controlled_negative:
                node: controlnet.apply
                in: { conditioning: negative.conditioning, control_net: {{net}}, image: hint.image }
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
            """);
    }
}
