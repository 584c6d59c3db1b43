using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Formats.Safetensors;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// CheckpointSave through /prompt on the tiny SD 1.x single file with a LoRA: the file is written where ComfyUI writes it
/// (filename_prefix "checkpoints/patched" → checkpoints/patched_00001_.safetensors in the output folder) with ComfyUI's
/// metadata (modelspec.predict_key, the prompt and extra_pnginfo as JSON text), no UI output is listed (ComfyUI's returns
/// none), and loaded again by CheckpointLoaderSimple it draws the LoRA-patched model's image pixel for pixel. The saved
/// tensors themselves are checked in the node pack's ModelSaveTests.
/// </summary>
public sealed class CheckpointSaveTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-save-");

    public CheckpointSaveTests()
    {
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "lora", "kohya-a.safetensors"), "loras/kohya-a.safetensors");
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task A_lora_patched_checkpoint_is_saved_with_comfyuis_name_and_metadata_and_draws_the_patched_image_when_loaded()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var save = new JsonObject
        {
            ["4"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "sd1-tiny.safetensors" }),
            ["10"] = Lora(),
            ["20"] = Node("CheckpointSave", new JsonObject { ["model"] = Link("10", 0), ["clip"] = Link("10", 1), ["vae"] = Link("4", 2), ["filename_prefix"] = "checkpoints/patched" }),
        };
        var workflow = new JsonObject { ["nodes"] = new JsonArray(), ["note"] = "ü" };
        var entry = await RunAsync(host, save, new JsonObject { ["extra_pnginfo"] = new JsonObject { ["workflow"] = workflow } });
        Assert.Null(entry["outputs"]!["20"]);

        var saved = Assert.Single(Directory.GetFiles(Path.Combine(host.Root, "outputs"), "*.safetensors", SearchOption.AllDirectories));
        Assert.Equal("patched_00001_.safetensors", Path.GetFileName(saved));
        Assert.Equal("checkpoints", Path.GetFileName(Path.GetDirectoryName(saved)));
        using (var file = SafetensorsFile.Open(saved))
        {
            var metadata = file.Header.Metadata;
            Assert.Equal("epsilon", metadata["modelspec.predict_key"]);
            Assert.True(JsonNode.DeepEquals(save, JsonNode.Parse(metadata["prompt"])));
            Assert.Equal("{\"nodes\": [], \"note\": \"\\u00fc\"}", metadata["workflow"]);
            Assert.Contains(file.Tensors.Keys, k => k.StartsWith("model.diffusion_model.", StringComparison.Ordinal));
            Assert.Contains(file.Tensors.Keys, k => k.StartsWith("cond_stage_model.transformer.text_model.", StringComparison.Ordinal));
            Assert.Contains(file.Tensors.Keys, k => k.StartsWith("first_stage_model.", StringComparison.Ordinal));
        }

        _home.Add(saved, "checkpoints/patched.safetensors");
        var patched = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        patched["10"] = Lora();
        patched["3"]!["inputs"]!["model"] = Link("10", 0);
        patched["6"]!["inputs"]!["clip"] = Link("10", 1);
        patched["7"]!["inputs"]!["clip"] = Link("10", 1);
        var expected = Pixels(await ClassMappingTests.RunForImageAsync(host, patched));
        var reloaded = Pixels(await ClassMappingTests.RunForImageAsync(host, Txt2Img(model: "patched.safetensors", text: "a red circle", steps: 2, cfg: 5)));
        var plain = Pixels(await ClassMappingTests.RunForImageAsync(host, Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5)));
        Assert.Equal(expected, reloaded);
        Assert.NotEqual(plain, reloaded);

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/CheckpointSave"))!["CheckpointSave"]!;
        Assert.Empty(info["output"]!.AsArray());
        Assert.True(info["output_node"]!.GetValue<bool>());
        Assert.Equal("advanced/model_merging", info["category"]!.GetValue<string>());
        Assert.Equal("checkpoints/ComfyUI", info["input"]!["required"]!["filename_prefix"]![1]!["default"]!.GetValue<string>());
        Assert.Equal(["model", "clip", "vae", "filename_prefix"], info["input"]!["required"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public void The_prefix_maps_to_model_saves_folder_and_dot_dot_is_refused()
    {
        var prompt = new JsonObject
        {
            ["4"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "tiny-sd" }),
            ["20"] = Node("CheckpointSave", new JsonObject { ["model"] = Link("4", 0), ["clip"] = Link("4", 1), ["vae"] = Link("4", 2), ["filename_prefix"] = "a b/merged v1" }),
        };
        var conversion = Convert(prompt);
        Assert.Empty(conversion.NodeErrors);
        var save = conversion.Workflow!.Node(ApiPromptConverter.NodeId("20"))!;
        Assert.Equal("model.save", save.Type);
        Assert.Equal("merged_v1", ((LiteralValue)save.Parameter("prefix")!.Value).Value);
        Assert.Equal("a_b", ((LiteralValue)save.Parameter("folder")!.Value).Value);
        Assert.Equal((ApiPromptConverter.NodeId("4"), "scheduler_config"), (save.Edge("scheduler_config")!.SourceNode, save.Edge("scheduler_config")!.SourceOutput));

        prompt["20"]!["inputs"]!["filename_prefix"] = "../outside";
        var refused = Convert(prompt);
        Assert.Equal("value_not_valid", Assert.Single(refused.NodeErrors["20"].Errors).Type);
    }

    [Fact]
    public async Task Model_vae_and_clip_saves_write_comfyuis_files_and_the_saved_vae_draws_the_same_image_through_vaeloader()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var save = new JsonObject
        {
            ["4"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "sd1-tiny.safetensors" }),
            ["20"] = Node("ModelSave", new JsonObject { ["model"] = Link("4", 0), ["filename_prefix"] = "diffusion_models/ComfyUI" }),
            ["21"] = Node("VAESave", new JsonObject { ["vae"] = Link("4", 2), ["filename_prefix"] = "vae/ComfyUI_vae" }),
            ["22"] = Node("CLIPSave", new JsonObject { ["clip"] = Link("4", 1), ["filename_prefix"] = "clip/ComfyUI" }),
        };
        var entry = await RunAsync(host, save, new JsonObject());
        Assert.All(["20", "21", "22"], id => Assert.Null(entry["outputs"]![id]));

        string Saved(string folder) => Assert.Single(Directory.GetFiles(Path.Combine(host.Root, "outputs"), "*.safetensors", SearchOption.AllDirectories),
            f => Path.GetFileName(Path.GetDirectoryName(f)) == folder);
        var (unet, vae, clip) = (Saved("diffusion_models"), Saved("vae"), Saved("clip"));
        Assert.Equal(("ComfyUI_00001_.safetensors", "ComfyUI_vae_00001_.safetensors", "ComfyUI_clip_l_00001_.safetensors"), (Path.GetFileName(unet), Path.GetFileName(vae), Path.GetFileName(clip)));
        using (var file = SafetensorsFile.Open(unet))
        {
            Assert.All(file.Tensors.Keys, k => Assert.StartsWith("model.diffusion_model.", k));
            Assert.Equal("epsilon", file.Header.Metadata["modelspec.predict_key"]);
        }

        using (var file = SafetensorsFile.Open(vae))
        {
            Assert.Contains("decoder.conv_in.weight", file.Tensors.Keys);
            Assert.All(file.Tensors.Keys, k => Assert.Matches("^(encoder|decoder|quant_conv|post_quant_conv)\\.", k));
            Assert.True(JsonNode.DeepEquals(save, JsonNode.Parse(file.Header.Metadata["prompt"])));
            Assert.False(file.Header.Metadata.ContainsKey("modelspec.predict_key"));
        }

        using (var file = SafetensorsFile.Open(clip))
        {
            Assert.Contains("text_model.encoder.layers.0.self_attn.q_proj.weight", file.Tensors.Keys);
            Assert.All(file.Tensors.Keys, k => Assert.StartsWith("text_model.", k));
            Assert.Equal("pt", file.Header.Metadata["format"]);
        }

        _home.Add(vae, "vae/saved.safetensors");
        var swapped = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        swapped["30"] = Node("VAELoader", new JsonObject { ["vae_name"] = "saved.safetensors" });
        swapped["8"]!["inputs"]!["vae"] = Link("30", 0);
        var plain = Pixels(await ClassMappingTests.RunForImageAsync(host, Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5)));
        Assert.Equal(plain, Pixels(await ClassMappingTests.RunForImageAsync(host, swapped)));

        foreach (var (name, input, type, prefix) in new[] { ("ModelSave", "model", "MODEL", "diffusion_models/ComfyUI"), ("VAESave", "vae", "VAE", "vae/ComfyUI_vae"), ("CLIPSave", "clip", "CLIP", "clip/ComfyUI") })
        {
            var info = JsonNode.Parse(await host.Client.GetStringAsync($"/object_info/{name}"))![name]!;
            Assert.Empty(info["output"]!.AsArray());
            Assert.True(info["output_node"]!.GetValue<bool>());
            Assert.Equal("advanced/model_merging", info["category"]!.GetValue<string>());
            Assert.Equal([input, "filename_prefix"], info["input"]!["required"]!.AsObject().Select(p => p.Key));
            Assert.Equal(type, info["input"]!["required"]![input]![0]!.GetValue<string>());
            Assert.Equal(prefix, info["input"]!["required"]!["filename_prefix"]![1]!["default"]!.GetValue<string>());
        }
    }

    [Fact]
    public void Model_vae_and_clip_saves_convert_to_model_save_layouts_with_comfyuis_default_prefixes()
    {
        var prompt = new JsonObject
        {
            ["4"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "tiny-sd" }),
            ["20"] = Node("ModelSave", new JsonObject { ["model"] = Link("4", 0) }),
            ["21"] = Node("VAESave", new JsonObject { ["vae"] = Link("4", 2) }),
            ["22"] = Node("CLIPSave", new JsonObject { ["clip"] = Link("4", 1), ["filename_prefix"] = "../up" }),
        };
        var conversion = Convert(prompt);
        Assert.Equal("value_not_valid", Assert.Single(conversion.NodeErrors["22"].Errors).Type);
        prompt["22"]!["inputs"]!["filename_prefix"] = "towers/merged";
        conversion = Convert(prompt);
        Assert.Empty(conversion.NodeErrors);
        WorkflowNode Saved(string id) => conversion.Workflow!.Node(ApiPromptConverter.NodeId(id))!;
        string Value(string id, string name) => (string)((LiteralValue)Saved(id).Parameter(name)!.Value).Value!;
        Assert.All(["20", "21", "22"], id => Assert.Equal("model.save", Saved(id).Type));
        Assert.Equal(("diffusion_models", "ComfyUI"), (Value("20", "folder"), Value("20", "prefix")));
        Assert.Null(Saved("20").Parameter("layout"));
        Assert.Equal((ApiPromptConverter.NodeId("4"), "unet"), (Saved("20").Edge("unet")!.SourceNode, Saved("20").Edge("unet")!.SourceOutput));
        Assert.Equal((ApiPromptConverter.NodeId("4"), "scheduler_config"), (Saved("20").Edge("scheduler_config")!.SourceNode, Saved("20").Edge("scheduler_config")!.SourceOutput));
        Assert.Equal(("vae", "ComfyUI_vae", "vae"), (Value("21", "folder"), Value("21", "prefix"), Value("21", "layout")));
        Assert.Equal(("towers", "merged", "clip"), (Value("22", "folder"), Value("22", "prefix"), Value("22", "layout")));
        Assert.Null(Saved("22").Edge("unet"));
    }

    private static JsonObject Lora() => Node("LoraLoader", new JsonObject
    {
        ["model"] = Link("4", 0), ["clip"] = Link("4", 1), ["lora_name"] = "kohya-a.safetensors", ["strength_model"] = 0.8, ["strength_clip"] = 0.6,
    });

    private static PromptConversion Convert(JsonObject prompt) =>
        ApiPromptConverter.Convert(prompt, new ComfyFolders(RepositoryRoot.Path, RepositoryRoot.Path, RepositoryRoot.Path), requireFiles: false);

    private static async Task<JsonNode> RunAsync(ComfyHost host, JsonObject prompt, JsonObject extraData)
    {
        var body = new JsonObject { ["prompt"] = prompt.DeepClone(), ["extra_data"] = extraData };
        using var response = await host.Client.PostAsJsonAsync("/prompt", body);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.IsSuccessStatusCode, answer.ToJsonString());
        var entry = await host.HistoryAsync(answer["prompt_id"]!.GetValue<string>());
        Assert.True(entry["status"]!["status_str"]!.GetValue<string>() == "success", entry["status"]!.ToJsonString());
        return entry;
    }

    private static byte[] Pixels(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png);
        return bitmap.Bytes;
    }
}
