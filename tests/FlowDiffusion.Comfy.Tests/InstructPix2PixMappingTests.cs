using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's InstructPixToPixConditioning → conditioning.instruct_pix2pix through /prompt on the tiny instruct-pix2pix
/// single file (sd1-tiny with an 8-channel conv_in): the prompt draws what the same workflow written by hand draws, pixel for
/// pixel, a 70 × 69 image cut to 64 × 64 on the way; a 4-channel checkpoint given it fails naming the node; /object_info
/// lists the class. The numerics (the image latents after the latents, zeros for a conditioning without them) are checked
/// against hand-concatenated UNet calls in the node pack's InstructPix2PixTests.
/// </summary>
public sealed class InstructPix2PixMappingTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-ip2p-");

    public InstructPix2PixMappingTests()
    {
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ip2p", "ldm-fp16.safetensors"), "checkpoints/ip2p.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        File.WriteAllBytes(Path.Combine(_home.Folder, "models", "edit-me.png"), Png());
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task InstructPixToPixConditioning_draws_what_the_hand_written_workflow_draws_pixel_for_pixel()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var image = await ClassMappingTests.UploadAsync(host, "/upload/image", "edit-me.png", Png());

        var comfy = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Edit("ip2p.safetensors", image)));
        var workflow = await IpAdapterMappingTests.RunYamlAsync(host, Yaml);

        Assert.Equal(workflow, comfy);
        var other = await ClassMappingTests.UploadAsync(host, "/upload/image", "other.png", Images.SolidPng(64, 64, new SKColor(200, 40, 90)));
        Assert.NotEqual(comfy, ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Edit("ip2p.safetensors", other))));
    }

    [Fact]
    public async Task A_4_channel_checkpoint_given_the_image_latents_and_the_8_channel_one_without_them_fail_naming_the_class()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var image = await ClassMappingTests.UploadAsync(host, "/upload/image", "edit-me.png", Png());

        var plain = await SamplerErrorAsync(host, Edit("sd1-tiny.safetensors", image));
        Assert.Contains("InstructPixToPixConditioning", plain);
        Assert.Contains("takes 4 input channels, not 8", plain);
        // ComfyUI would feed the UNet zeros for the image; we refuse rather than edit nothing.
        var bare = await SamplerErrorAsync(host, Txt2Img(model: "ip2p.safetensors", text: "make it snowy", steps: 3, cfg: 5));
        Assert.Contains("instruct-pix2pix model (8 input channels)", bare);
        Assert.Contains("InstructPixToPixConditioning", bare);
    }

    [Fact]
    public void The_class_maps_to_the_node_with_its_three_outputs_wired_to_the_sampler()
    {
        var conversion = ApiPromptConverter.Convert(Edit("ip2p.safetensors", "edit-me.png"),
            new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input")), requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var node = conversion.Workflow!.Node(ApiPromptConverter.NodeId("11"))!;
        Assert.Equal("conditioning.instruct_pix2pix", node.Type);
        Assert.Equal(["positive", "negative", "vae", "image"], node.Inputs.Select(e => e.Port));
        var sampled = conversion.Workflow.Nodes.Where(n => n.Inputs.Any(e => e.SourceNode == node.Id)).SelectMany(n => n.Inputs.Where(e => e.SourceNode == node.Id));
        Assert.Equal(["latent", "negative_out", "positive_out"], sampled.Select(e => e.SourceOutput).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Object_info_lists_the_class_as_ComfyUI_declares_it()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!["InstructPixToPixConditioning"]!;

        Assert.Equal(["positive", "negative", "vae", "pixels"], info["input"]!["required"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["CONDITIONING", "CONDITIONING", "LATENT"], info["output"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal(["positive", "negative", "latent"], info["output_name"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal("conditioning/instructpix2pix", info["category"]!.GetValue<string>());
    }

    private static async Task<string> SamplerErrorAsync(ComfyHost host, JsonObject prompt)
    {
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 200, body.ToJsonString());
        var entry = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        Assert.Equal("error", entry["status"]!["status_str"]!.GetValue<string>());
        var error = entry["status"]!["messages"]!.AsArray().Single(m => m![0]!.GetValue<string>() == "execution_error")![1]!;
        Assert.Equal("KSampler", error["node_type"]!.GetValue<string>());
        return error["exception_message"]!.GetValue<string>();
    }

    // The default graph on a checkpoint (3 steps, CFG 5) with LoadImage (10) and InstructPixToPixConditioning (11) between
    // the prompts and the KSampler, whose latent it gives.
    private static JsonObject Edit(string model, string image)
    {
        var prompt = Txt2Img(model: model, text: "make it snowy", steps: 3, cfg: 5);
        prompt["10"] = Node("LoadImage", new JsonObject { ["image"] = image });
        prompt["11"] = Node("InstructPixToPixConditioning", new JsonObject
        {
            ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["vae"] = Link("4", 2), ["pixels"] = Link("10", 0),
        });
        prompt["3"]!["inputs"]!["positive"] = Link("11", 0);
        prompt["3"]!["inputs"]!["negative"] = Link("11", 1);
        prompt["3"]!["inputs"]!["latent_image"] = Link("11", 2);
        return prompt;
    }

    // 70 × 69: ComfyUI keeps the 64 × 64 from column 3, row 2.
    private static byte[] Png()
    {
        using var bitmap = new SKBitmap(70, 69);
        for (var y = 0; y < 69; y++)
        for (var x = 0; x < 70; x++)
            bitmap.SetPixel(x, y, new SKColor((byte)(x * 3), (byte)(y * 3), (byte)((x * y) % 256)));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    // The same edit as a FlowDiffusion workflow written by hand, sampled as KSampler samples.
    private const string Yaml = """
        flowdiffusion: 1
        name: ip2p-equivalent
        nodes:
          model: { node: model.load, with: { path: models/checkpoints/ip2p.safetensors } }
          positive_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: make it snowy, syntax: comfyui } }
          negative_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "", syntax: comfyui } }
          positive: { node: clip.encode, in: { clip: model.clip, tokens: positive_tokens.tokens } }
          negative: { node: clip.encode, in: { clip: model.clip, tokens: negative_tokens.tokens } }
          image: { node: image.load, with: { path: models/edit-me.png } }
          ip2p: { node: conditioning.instruct_pix2pix, in: { positive: positive.conditioning, negative: negative.conditioning, vae: model.vae, image: image.image } }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
          guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: ip2p.positive_out, negative: ip2p.negative_out }, with: { scale: 5 } }
          sample:
            node: diffusion.ksampler
            in: { guider: guider.guider, config: model.scheduler_config, latent_image: ip2p.latent }
            with: { seed: 5, steps: 3, sampler: euler, scheduler: normal, denoise: 1 }
          decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
          save: { node: image.save, in: { images: decode.image }, with: { prefix: equivalent } }
        """;
}
