using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// UNETLoader → unet.load: a LoRA-patched UNet saved by ModelSave through /prompt, placed in models/unet, and loaded by
/// UNETLoader beside CheckpointLoaderSimple's CLIP and VAE draws the patched model's image pixel for pixel; files are
/// looked up in models/unet, then models/diffusion_models (ComfyUI's diffusion_models folders); the fp8 weight types
/// pass to unet.load (which rounds the weights: Fp8CheckpointTests), other types and missing files are node errors naming the input. CLIPLoader → clip.load: a LoRA-patched CLIP saved by CLIPSave and
/// loaded from models/clip draws the patched image pixel for pixel; types other than stable_diffusion are node errors.
/// </summary>
public sealed class UNetLoaderTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-unet-");

    public UNetLoaderTests()
    {
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "lora", "kohya-a.safetensors"), "loras/kohya-a.safetensors");
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task A_unet_saved_by_modelsave_loads_through_unetloader_and_draws_the_patched_image_with_the_checkpoints_clip_and_vae()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var save = new JsonObject
        {
            ["4"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "sd1-tiny.safetensors" }),
            ["10"] = Node("LoraLoaderModelOnly", new JsonObject { ["model"] = Link("4", 0), ["lora_name"] = "kohya-a.safetensors", ["strength_model"] = 0.8 }),
            ["20"] = Node("ModelSave", new JsonObject { ["model"] = Link("10", 0), ["filename_prefix"] = "diffusion_models/ComfyUI" }),
        };
        await RunAsync(host, save);
        var saved = Assert.Single(Directory.GetFiles(Path.Combine(host.Root, "outputs"), "*.safetensors", SearchOption.AllDirectories));
        _home.Add(saved, "unet/patched.safetensors");

        JsonObject Draw(bool loader, bool lora)
        {
            var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
            if (lora)
            {
                prompt["10"] = save["10"]!.DeepClone();
                prompt["3"]!["inputs"]!["model"] = Link("10", 0);
            }

            if (loader)
            {
                prompt["30"] = Node("UNETLoader", new JsonObject { ["unet_name"] = "patched.safetensors", ["weight_dtype"] = "default" });
                prompt["3"]!["inputs"]!["model"] = Link("30", 0);
            }

            return prompt;
        }

        var patched = Pixels(await ClassMappingTests.RunForImageAsync(host, Draw(loader: false, lora: true)));
        var plain = Pixels(await ClassMappingTests.RunForImageAsync(host, Draw(loader: false, lora: false)));
        Assert.NotEqual(plain, patched);
        Assert.Equal(patched, Pixels(await ClassMappingTests.RunForImageAsync(host, Draw(loader: true, lora: false))));

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/UNETLoader"))!["UNETLoader"]!;
        Assert.Contains("patched.safetensors", info["input"]!["required"]!["unet_name"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("", info["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_clip_saved_by_clipsave_loads_through_cliploader_and_draws_the_patched_image()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var lora = Node("LoraLoader", new JsonObject
        {
            ["model"] = Link("4", 0), ["clip"] = Link("4", 1), ["lora_name"] = "kohya-a.safetensors", ["strength_model"] = 0, ["strength_clip"] = 0.9,
        });
        await RunAsync(host, new JsonObject
        {
            ["4"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "sd1-tiny.safetensors" }),
            ["10"] = lora.DeepClone(),
            ["22"] = Node("CLIPSave", new JsonObject { ["clip"] = Link("10", 1), ["filename_prefix"] = "clip/ComfyUI" }),
        });
        var saved = Assert.Single(Directory.GetFiles(Path.Combine(host.Root, "outputs"), "*.safetensors", SearchOption.AllDirectories));
        _home.Add(saved, "clip/patched_clip_l.safetensors");

        JsonObject Draw(string? clip, JsonObject? node)
        {
            var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
            if (node is not null)
            {
                prompt["30"] = node;
                prompt["6"]!["inputs"]!["clip"] = Link("30", clip == "lora" ? 1 : 0);
                prompt["7"]!["inputs"]!["clip"] = Link("30", clip == "lora" ? 1 : 0);
            }

            return prompt;
        }

        var patched = Pixels(await ClassMappingTests.RunForImageAsync(host, Draw("lora", (JsonObject)lora.DeepClone())));
        var plain = Pixels(await ClassMappingTests.RunForImageAsync(host, Draw(null, null)));
        Assert.NotEqual(plain, patched);
        var loader = Node("CLIPLoader", new JsonObject { ["clip_name"] = "patched_clip_l.safetensors", ["type"] = "stable_diffusion" });
        Assert.Equal(patched, Pixels(await ClassMappingTests.RunForImageAsync(host, Draw("loader", loader))));

        var sdxl = Draw("loader", Node("CLIPLoader", new JsonObject { ["clip_name"] = "patched_clip_l.safetensors", ["type"] = "sdxl" }));
        var (status, body) = await host.PostPromptAsync(sdxl);
        Assert.Equal(400, status);
        Assert.Contains("type: 'sdxl' is not supported", body["node_errors"]!["30"]!["errors"]![0]!["details"]!.GetValue<string>());
    }

    [Fact]
    public void Unetloader_converts_to_unet_load_from_comfyuis_diffusion_models_folders_with_its_weight_dtype_and_refuses_missing_files()
    {
        var models = Path.Combine(_home.Folder, "models");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "lora", "kohya-a.safetensors"), "diffusion_models/sub/b.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "lora", "kohya-a.safetensors"), "unet/a.safetensors");
        var folders = new ComfyFolders(models, RepositoryRoot.Path, Path.Combine(_home.Folder, "input"));
        PromptConversion Convert(string name, string dtype)
        {
            var prompt = Txt2Img(model: "sd1-tiny.safetensors");
            prompt["30"] = Node("UNETLoader", new JsonObject { ["unet_name"] = name, ["weight_dtype"] = dtype });
            prompt["3"]!["inputs"]!["model"] = Link("30", 0);
            return ApiPromptConverter.Convert(prompt, folders, requireFiles: true);
        }

        foreach (var (name, folder) in new[] { ("a.safetensors", "unet"), ("sub/b.safetensors", "diffusion_models") })
        {
            var conversion = Convert(name, "default");
            Assert.Empty(conversion.NodeErrors);
            var node = conversion.Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
            Assert.Equal("unet.load", node.Type);
            Assert.Equal(Path.GetFullPath(Path.Combine(models, folder, name)), Path.GetFullPath((string)((LiteralValue)node.Parameter("path")!.Value).Value!));
            // The KSampler takes the MODEL's UNet and its schedule from unet.load.
            var edges = conversion.Workflow.Nodes.SelectMany(n => n.Inputs).Where(e => e.SourceNode == node.Id).Select(e => e.SourceOutput).ToHashSet();
            Assert.Equal(["scheduler_config", "unet"], edges.Order(StringComparer.Ordinal));
        }

        foreach (var dtype in new[] { "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2" })
        {
            var fp8 = Convert("a.safetensors", dtype);
            Assert.Empty(fp8.NodeErrors);
            Assert.Equal(dtype, ((LiteralValue)fp8.Workflow!.Node(ApiPromptConverter.NodeId("30"))!.Parameter("weight_dtype")!.Value).Value);
        }

        Assert.Null(Convert("a.safetensors", "default").Workflow!.Node(ApiPromptConverter.NodeId("30"))!.Parameter("weight_dtype"));
        Assert.Equal("value_not_in_list", Assert.Single(Convert("a.safetensors", "fp16").NodeErrors["30"].Errors).Type);
        var missing = Assert.Single(Convert("c.safetensors", "default").NodeErrors["30"].Errors);
        Assert.Equal("value_not_in_list", missing.Type);
        Assert.Contains("unet_name: 'c.safetensors' not in ['a.safetensors', 'sub/b.safetensors']", missing.Details);
        // A name leaving the model folders is not found there, as ComfyUI's folder lookup.
        Assert.Equal("value_not_in_list", Assert.Single(Convert("../checkpoints/sd1-tiny.safetensors", "default").NodeErrors["30"].Errors).Type);
    }

    internal static async Task RunAsync(ComfyHost host, JsonObject prompt)
    {
        var body = new JsonObject { ["prompt"] = prompt.DeepClone(), ["extra_data"] = new JsonObject() };
        using var response = await host.Client.PostAsJsonAsync("/prompt", body);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.IsSuccessStatusCode, answer.ToJsonString());
        var entry = await host.HistoryAsync(answer["prompt_id"]!.GetValue<string>());
        Assert.True(entry["status"]!["status_str"]!.GetValue<string>() == "success", entry["status"]!.ToJsonString());
    }

    internal static byte[] Pixels(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png);
        return bitmap.Bytes;
    }
}
