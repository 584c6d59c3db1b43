using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// CLIPVisionLoader, CLIPVisionEncode and the IPAdapter_plus pack's IPAdapterModelLoader, IPAdapterUnifiedLoader, IPAdapter
/// and IPAdapterAdvanced, on the tiny SD 1.x checkpoint with the tiny IP-Adapter and CLIP vision models the ipadapter node
/// tests use: the conversion, its refusals, the unified loader's file choice, and end to end through /prompt against the
/// same drawing written as a FlowDiffusion workflow.
/// </summary>
public sealed class IpAdapterMappingTests : IDisposable
{
    private static readonly string Tiny = Path.Combine(CheckpointHome.TestData, "sd1-tiny");
    private static readonly string Adapters = Path.Combine(Tiny, "ipadapter");
    private readonly CheckpointHome _home = new("fd-comfy-ipadapter-");

    public IpAdapterMappingTests()
    {
        _home.Add(Path.Combine(Tiny, "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        _home.Add(Path.Combine(Adapters, "ip-adapter.safetensors"), "ipadapter/ip-adapter_sd15.safetensors");
        _home.Add(Path.Combine(Adapters, "ip-adapter-plus.safetensors"), "ipadapter/ip-adapter-plus_sd15.safetensors");
        _home.Add(Path.Combine(Adapters, "clip-vision", "model.safetensors"), "clip_vision/sd15-image-encoder/model.safetensors");
        _home.Add(Path.Combine(Adapters, "clip-vision", "config.json"), "clip_vision/sd15-image-encoder/config.json");
    }

    private string Models => Path.Combine(_home.Folder, "models");

    private ComfyFolders Folders => new(Models, _home.Folder, Path.Combine(_home.Folder, "input"));

    public void Dispose() => _home.Dispose();

    [Fact]
    public void IPAdapterAdvanced_becomes_an_ipadapter_apply_on_the_samplers_positive_with_the_packs_settings()
    {
        var prompt = AdvancedPrompt(0.6, start: 0.2, end: 0.8);
        var advanced = prompt["20"]!["inputs"]!.AsObject();
        advanced["weight_type"] = "ease in";
        advanced["combine_embeds"] = "average";
        advanced["embeds_scaling"] = "K+V";
        advanced["image_negative"] = Link("10", 0);
        var workflow = Convert(prompt);

        var apply = workflow.Node(ApiPromptConverter.NodeId("3", "ipadapter"))!;
        Assert.Equal("ipadapter.apply", apply.Type);
        Assert.Equal(("n6", "conditioning"), Edge(apply, "conditioning"));
        Assert.Equal(("n20__encode", "embeds"), Edge(apply, "embeds"));
        Assert.Equal(("n20__encode_negative", "embeds"), Edge(apply, "negative"));
        Assert.Equal(("n11", "adapter"), Edge(apply, "adapter"));
        Assert.Equal(0.6, Value(apply, "weight"));
        Assert.Equal(0.2, Value(apply, "start_percent"));
        Assert.Equal(0.8, Value(apply, "end_percent"));
        Assert.Equal("ease in", Value(apply, "weight_type"));
        Assert.Equal("average", Value(apply, "combine"));
        Assert.Equal("K+V", Value(apply, "embeds_scaling"));
        // The guider reads the adapted positive; the negative stays the plain encoding.
        var guider = workflow.Node(ApiPromptConverter.NodeId("3", "guider"))!;
        Assert.Equal((apply.Id, "result"), Edge(guider, "positive"));
        Assert.Equal(("n7", "conditioning"), Edge(guider, "negative"));

        var encode = workflow.Node("n20__encode")!;
        Assert.Equal(("n10", "image"), Edge(encode, "image"));
        Assert.Equal(("n12", "clip_vision"), Edge(encode, "clip_vision"));
        Assert.Equal("center", Value(encode, "crop"));
        Assert.Equal("black", Value(encode, "unconditional"));
        // The encoder's model.safetensors with its config.json loads as its folder.
        Assert.Equal("models/clip_vision/sd15-image-encoder", Value(workflow.Node("n12")!, "path"));
        Assert.Equal("models/ipadapter/ip-adapter_sd15.safetensors", Value(workflow.Node("n11")!, "path"));
    }

    [Theory]
    [InlineData("standard", "linear")]
    [InlineData("prompt is more important", "ease out")]
    [InlineData("style transfer", "style transfer")]
    public void IPAdapter_weight_types_are_the_packs(string simple, string applied)
    {
        var prompt = UnifiedPrompt("STANDARD (medium strength)", 0.7);
        prompt["20"]!["inputs"]!["weight_type"] = simple;
        var apply = Convert(prompt).Node(ApiPromptConverter.NodeId("3", "ipadapter"))!;
        Assert.Equal(applied, Value(apply, "weight_type"));
        Assert.Equal(0.7, Value(apply, "weight"));
    }

    [Theory]
    [InlineData("STANDARD (medium strength)", "ip-adapter_sd15.safetensors", "sd15-image-encoder")]
    [InlineData("PLUS (high strength)", "ip-adapter-plus_sd15.safetensors", "sd15-image-encoder")]
    [InlineData("PLUS FACE (portraits)", "ip-adapter-plus-face_sd15.safetensors", "sd15-image-encoder")]
    [InlineData("VIT-G (medium strength)", "ip-adapter_sd15_vit-G.safetensors", "CLIP-ViT-bigG-14-laion2B-39B-b160k.safetensors")]
    [InlineData("LIGHT - SD1.5 only (low strength)", "ip-adapter_sd15_light_v11.safetensors", "sd15-image-encoder")]
    public void The_unified_loader_picks_the_first_file_the_presets_pattern_matches(string preset, string adapter, string clipVision)
    {
        // Decoys: SDXL's adapters, the old light file (v11 wins), and names close to the patterns.
        foreach (var decoy in new[] { "ipadapter/ip-adapter_sdxl_vit-h.safetensors", "ipadapter/ip-adapter-plus_sdxl_vit-h.safetensors", "ipadapter/ip-adapter_sd15_light.safetensors",
            "ipadapter/ip-adapter_sd15_light_v11.safetensors", "ipadapter/ip-adapter_sd15_vit-G.safetensors", "ipadapter/ip-adapter-plus-face_sd15.safetensors",
            "ipadapter/ip-adapter_sd15.txt", "clip_vision/CLIP-ViT-bigG-14-laion2B-39B-b160k.safetensors" })
            _home.Add(Path.Combine(Adapters, "ip-adapter.safetensors"), decoy);

        var workflow = Convert(UnifiedPrompt(preset, 1));
        Assert.Equal($"models/ipadapter/{adapter}", Value(workflow.Node("n21")!, "path"));
        Assert.Equal($"models/clip_vision/{clipVision}", Value(workflow.Node("n21__clip_vision")!, "path"));
    }

    [Fact]
    public void The_unified_loader_picks_sdxl_files_for_an_sdxl_checkpoint_and_refuses_light_there()
    {
        // A checkpoint is SDXL by its tensor names alone: one conditioner.embedders.1 tensor says so.
        var header = Encoding.UTF8.GetBytes("""{"conditioner.embedders.1.model.x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""");
        var file = Path.Combine(Models, "checkpoints", "xl.safetensors");
        File.WriteAllBytes(file, [.. BitConverter.GetBytes((long)header.Length), .. header, 0, 0, 0, 0]);
        _home.Add(Path.Combine(Adapters, "ip-adapter.safetensors"), "ipadapter/ip-adapter_sdxl_vit-h.safetensors");
        var prompt = UnifiedPrompt("STANDARD (medium strength)", 1);
        prompt["4"]!["inputs"]!["ckpt_name"] = "xl.safetensors";
        Assert.Equal("models/ipadapter/ip-adapter_sdxl_vit-h.safetensors", Value(Convert(prompt).Node("n21")!, "path"));

        prompt["21"]!["inputs"]!["preset"] = "LIGHT - SD1.5 only (low strength)";
        AssertError(prompt, "21", "preset", "SD 1.5 models only");
    }

    [Fact]
    public void The_unified_loader_picks_a_bin_where_the_pack_would_and_reports_a_missing_file()
    {
        // ComfyUI sorts "….bin" before "….safetensors", so the pack picks the PyTorch file, which is read as it is.
        _home.Add(Path.Combine(Adapters, "ip-adapter.safetensors"), "ipadapter/ip-adapter_sd15.bin");
        Assert.Equal("models/ipadapter/ip-adapter_sd15.bin", Value(Convert(UnifiedPrompt("STANDARD (medium strength)", 1)).Node("n21")!, "path"));
        AssertError(UnifiedPrompt("VIT-G (medium strength)", 1), "21", "preset", "no file in models/ipadapter matches");
    }

    public static TheoryData<string, string, string> Refusals => new()
    {
        { "attn_mask", "attn_mask", "attention masks are not supported" },
        { "precise", "weight_type", "'style transfer precise'" },
        { "no clip vision", "clip_vision", "needs a CLIPVisionLoader" },
        { "weight", "weight", "above 5" },
        { "end_at", "end_at", "above 1" },
        { "not weights", "ipadapter_file", "not a weight file" },
        { "embeds_scaling", "embeds_scaling", "not in" },
        { "twice", "model", "already carries the IP-Adapter of node 20" },
        { "full face", "preset", "FULL FACE" },
        { "simple without pipeline", "ipadapter", "IPAdapterUnifiedLoader" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Unsupported_inputs_are_node_errors_naming_the_input(string change, string input, string message)
    {
        var prompt = AdvancedPrompt(1);
        var node = "20";
        var inputs = prompt["20"]!["inputs"]!.AsObject();
        switch (change)
        {
            case "attn_mask": prompt["13"] = Node("SolidMask", new JsonObject { ["value"] = 1, ["width"] = 8, ["height"] = 8 }); inputs["attn_mask"] = Link("13", 0); break;
            case "precise": inputs["weight_type"] = "style transfer precise"; break;
            case "no clip vision": inputs.Remove("clip_vision"); break;
            case "weight": inputs["weight"] = 5.5; break;
            case "end_at": inputs["end_at"] = 1.5; break;
            case "not weights": _home.Add(Path.Combine(Adapters, "ip-adapter.safetensors"), "ipadapter/old.pkl"); prompt["11"]!["inputs"]!["ipadapter_file"] = "old.pkl"; node = "11"; break;
            case "embeds_scaling": inputs["embeds_scaling"] = "K only"; break;
            case "twice":
                prompt["22"] = prompt["20"]!.DeepClone();
                prompt["22"]!["inputs"]!["model"] = Link("20", 0);
                prompt["3"]!["inputs"]!["model"] = Link("22", 0);
                node = "22";
                break;
            case "full face": prompt = UnifiedPrompt("FULL FACE - SD1.5 only (portraits stronger)", 1); node = "21"; break;
            case "simple without pipeline":
                prompt["20"] = Node("IPAdapter", new JsonObject
                {
                    ["model"] = Link("4", 0), ["ipadapter"] = Link("11", 0), ["image"] = Link("10", 0), ["weight"] = 1, ["start_at"] = 0, ["end_at"] = 1, ["weight_type"] = "standard",
                });
                break;
        }

        AssertError(prompt, node, input, message);
    }

    [Theory]
    [InlineData("PerpNegGuider")]
    [InlineData("DualCFGGuider")]
    public void Guiders_of_three_conditionings_refuse_an_ip_adapted_model(string guider)
    {
        var prompt = AdvancedPrompt(1);
        prompt["30"] = Node(guider, guider == "PerpNegGuider"
            ? new JsonObject { ["model"] = Link("20", 0), ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["empty_conditioning"] = Link("7", 0), ["cfg"] = 5, ["neg_scale"] = 1 }
            : new JsonObject { ["model"] = Link("20", 0), ["cond1"] = Link("6", 0), ["cond2"] = Link("6", 0), ["negative"] = Link("7", 0), ["cfg_conds"] = 5, ["cfg_cond2_negative"] = 5, ["style"] = "regular" });
        prompt["31"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler" });
        prompt["32"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "normal", ["steps"] = 2, ["denoise"] = 1 });
        prompt["33"] = Node("RandomNoise", new JsonObject { ["noise_seed"] = 1 });
        prompt["3"] = Node("SamplerCustomAdvanced", new JsonObject
        {
            ["noise"] = Link("33", 0), ["guider"] = Link("30", 0), ["sampler"] = Link("31", 0), ["sigmas"] = Link("32", 0), ["latent_image"] = Link("5", 0),
        });
        AssertError(prompt, "30", "model", "IP-Adapter before " + guider);
    }

    [Fact]
    public void CLIPVisionEncode_maps_to_clip_vision_encode_and_its_output_feeds_no_conditioning()
    {
        var prompt = AdvancedPrompt(1);
        prompt["14"] = Node("CLIPVisionEncode", new JsonObject { ["clip_vision"] = Link("12", 0), ["image"] = Link("10", 0), ["crop"] = "none" });
        prompt["3"]!["inputs"]!["positive"] = Link("14", 0);
        AssertError(prompt, "3", "positive", "received_type(CLIP_VISION_OUTPUT)");

        prompt["3"]!["inputs"]!["positive"] = Link("6", 0);
        prompt["15"] = Node("PreviewImage", new JsonObject { ["images"] = Link("10", 0) });
        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);
        Assert.Empty(conversion.NodeErrors);
        // Nothing reads it, so (as ComfyUI) it is not converted; converting it alone shows the mapping.
        prompt["3"]!["inputs"]!["positive"] = Link("14", 0);
        prompt["14"]!["inputs"]!["crop"] = "diagonal";
        AssertError(prompt, "14", "crop", "not in ['center', 'none']");
    }

    [Fact]
    public async Task An_IPAdapter_prompt_draws_the_pixels_of_the_same_FlowDiffusion_workflow_and_weight_zero_or_an_empty_window_draws_the_plain_image()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var image = await ClassMappingTests.UploadAsync(host, "/upload/image", "reference.png", await File.ReadAllBytesAsync(Path.Combine(Adapters, "image-a.png")));
        var adapted = await RunAsync(host, AdvancedPrompt(0.8, image: image));
        // The workflow reads the same file from the models folder, a folder the host reads inputs from.
        _home.Add(Path.Combine(Adapters, "image-a.png"), "reference.png");
        var workflow = await RunYamlAsync(host, Yaml("models/reference.png", 0.8f));
        Assert.Equal(workflow, adapted);

        var plainPrompt = AdvancedPrompt(1, image: image);
        plainPrompt["3"]!["inputs"]!["model"] = Link("4", 0);
        var plain = await RunAsync(host, plainPrompt);
        var differing = plain.Zip(adapted).Count(p => p.First != p.Second);
        Assert.True(differing > plain.Length / 10, $"{differing} of {plain.Length} channel values differ from the image without the adapter");

        Assert.Equal(plain, await RunAsync(host, AdvancedPrompt(0, image: image)));
        // A window of one point (no step's sigma lies on it) and a window that starts after it ends: ComfyUI's adapter never acts.
        Assert.Equal(plain, await RunAsync(host, AdvancedPrompt(0.8, start: 0.5, end: 0.5, image: image)));
        Assert.Equal(plain, await RunAsync(host, AdvancedPrompt(0.8, start: 0.9, end: 0.1, image: image)));
        // Half the schedule: neither the plain nor the fully adapted image, and the workflow's own start_percent draws it.
        var half = await RunAsync(host, AdvancedPrompt(0.8, start: 0.5, end: 1, image: image));
        Assert.NotEqual(plain, half);
        Assert.NotEqual(adapted, half);
        Assert.Equal(await RunYamlAsync(host, Yaml("models/reference.png", 0.8f, start: 0.5f)), half);

        // IPAdapter through the unified loader's STANDARD preset is the same adapter and encoder at linear weight.
        var unified = UnifiedPrompt("STANDARD (medium strength)", 0.8);
        unified["10"]!["inputs"]!["image"] = image;
        Assert.Equal(adapted, await RunAsync(host, unified));
    }

    // The prompt: the tiny checkpoint's txt2img with IPAdapterModelLoader (11), CLIPVisionLoader (12), LoadImage (10) and
    // IPAdapterAdvanced (20) between the checkpoint's MODEL and the KSampler (3).
    private static JsonObject AdvancedPrompt(double weight, double start = 0, double end = 1, string image = "reference.png")
    {
        var prompt = Txt2Img(model: "sd1-tiny.safetensors", text: "a house", steps: 3, cfg: 5, size: 64);
        prompt["10"] = Node("LoadImage", new JsonObject { ["image"] = image });
        prompt["11"] = Node("IPAdapterModelLoader", new JsonObject { ["ipadapter_file"] = "ip-adapter_sd15.safetensors" });
        prompt["12"] = Node("CLIPVisionLoader", new JsonObject { ["clip_name"] = "sd15-image-encoder/model.safetensors" });
        prompt["20"] = Node("IPAdapterAdvanced", new JsonObject
        {
            ["model"] = Link("4", 0), ["ipadapter"] = Link("11", 0), ["image"] = Link("10", 0), ["clip_vision"] = Link("12", 0), ["weight"] = weight,
            ["weight_type"] = "linear", ["combine_embeds"] = "concat", ["start_at"] = start, ["end_at"] = end, ["embeds_scaling"] = "V only",
        });
        prompt["3"]!["inputs"]!["model"] = Link("20", 0);
        return prompt;
    }

    // The same with IPAdapterUnifiedLoader (21) and IPAdapter (20).
    private static JsonObject UnifiedPrompt(string preset, double weight)
    {
        var prompt = AdvancedPrompt(weight);
        prompt.Remove("11");
        prompt.Remove("12");
        prompt["21"] = Node("IPAdapterUnifiedLoader", new JsonObject { ["model"] = Link("4", 0), ["preset"] = preset });
        prompt["20"] = Node("IPAdapter", new JsonObject
        {
            ["model"] = Link("21", 0), ["ipadapter"] = Link("21", 1), ["image"] = Link("10", 0), ["weight"] = weight, ["start_at"] = 0, ["end_at"] = 1, ["weight_type"] = "standard",
        });
        return prompt;
    }

    // The drawing as a FlowDiffusion workflow written by hand: the pack's encoding (centre crop, black-image negative side)
    // and ipadapter.apply on the positive of guidance.cfg, sampled as KSampler samples.
    private static string Yaml(string image, float weight, float start = 0) => $$"""
        flowdiffusion: 1
        name: ipadapter-equivalent
        nodes:
          model: { node: model.load, with: { path: models/checkpoints/sd1-tiny.safetensors } }
          positive_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a house, syntax: comfyui } }
          negative_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "", syntax: comfyui } }
          positive: { node: clip.encode, in: { clip: model.clip, tokens: positive_tokens.tokens } }
          negative: { node: clip.encode, in: { clip: model.clip, tokens: negative_tokens.tokens } }
          encoder: { node: clip_vision.load, with: { path: models/clip_vision/sd15-image-encoder } }
          reference: { node: image.load, with: { path: {{image}} } }
          embeds: { node: clip_vision.encode, in: { clip_vision: encoder.clip_vision, image: reference.image }, with: { crop: center, unconditional: black } }
          adapter: { node: ipadapter.load, with: { path: models/ipadapter/ip-adapter_sd15.safetensors } }
          image_prompt:
            node: ipadapter.apply
            in: { conditioning: positive.conditioning, adapter: adapter.adapter, embeds: embeds.embeds }
            with: { weight: {{weight.ToString(CultureInfo.InvariantCulture)}}, start_percent: {{start.ToString(CultureInfo.InvariantCulture)}}, end_percent: 1 }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
          guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: image_prompt.result, negative: negative.conditioning }, with: { scale: 5 } }
          latent: { node: latent.empty, with: { width: 64, height: 64, batch: 1 } }
          sample:
            node: diffusion.ksampler
            in: { guider: guider.guider, config: model.scheduler_config, latent_image: latent.latent }
            with: { seed: 5, steps: 3, sampler: euler, scheduler: normal, denoise: 1 }
          decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
          save: { node: image.save, in: { images: decode.image }, with: { prefix: equivalent } }
        """;

    private static async Task<byte[]> RunAsync(ComfyHost host, JsonObject prompt) => ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));

    internal static async Task<byte[]> RunYamlAsync(ComfyHost host, string yaml)
    {
        using var submit = await host.Client.PostAsJsonAsync("/api/runs", new { yaml });
        var answer = await submit.Content.ReadAsStringAsync();
        Assert.True(submit.IsSuccessStatusCode, answer);
        var id = JsonNode.Parse(answer)!["id"]!.GetValue<string>();
        JsonNode run;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        do
        {
            await Task.Delay(100);
            run = JsonNode.Parse(await host.Client.GetStringAsync($"/api/runs/{id}"))!;
        }
        while (run["status"]!.GetValue<string>() is "queued" or "running" && DateTime.UtcNow < deadline);
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        return ClassMappingTests.Pixels(await host.Client.GetByteArrayAsync(run["outputs"]![0]!["url"]!.GetValue<string>()));
    }

    private Workflow Convert(JsonObject prompt)
    {
        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);
        Assert.True(conversion.NodeErrors.Count == 0, string.Join("; ", conversion.NodeErrors.SelectMany(e => e.Value.Errors.Select(x => $"{e.Key}: {x.Details}"))));
        return conversion.Workflow!;
    }

    private void AssertError(JsonObject prompt, string node, string input, string message)
    {
        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);
        Assert.True(conversion.NodeErrors.ContainsKey(node), $"no error on node {node}: {string.Join("; ", conversion.NodeErrors.Keys)}");
        var errors = conversion.NodeErrors[node].Errors;
        Assert.Contains(errors, e => e.InputName == input && e.Details.Contains(message, StringComparison.Ordinal));
    }

    private static (string, string) Edge(WorkflowNode node, string port)
    {
        var edge = node.Inputs.Single(e => e.Port == port);
        return (edge.SourceNode, edge.SourceOutput);
    }

    private static object? Value(WorkflowNode node, string name)
    {
        var value = ((LiteralValue)node.Parameter(name)!.Value).Value;
        return value is string text ? text.Replace('\\', '/') : value;
    }
}
