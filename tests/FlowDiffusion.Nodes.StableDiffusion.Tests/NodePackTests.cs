using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>The pack as a plugin: its catalog, and nodes the shipped workflows do not use.</summary>
public sealed class NodePackTests
{
    private const string PluginId = "flowdiffusion.stable-diffusion";

    [Fact]
    public void Loads_from_the_plugin_folder_with_every_node_described_and_versioned()
    {
        var plugins = SdEngine.Shared.Engine.Plugins;
        Assert.DoesNotContain(plugins.Errors, e => e.ToString()!.Contains("StableDiffusion", StringComparison.Ordinal));
        var pack = Assert.Single(plugins.Plugins, p => p.Manifest.Id == PluginId);
        Assert.Equal(
            ["clip.attention_multiply", "clip.encode", "clip.load", "clip.merge", "clip.tokenize", "clip_vision.encode", "clip_vision.load", "conditioning.average", "conditioning.combine", "conditioning.instruct_pix2pix", "conditioning.mix", "conditioning.sdxl_refiner", "conditioning.sdxl_size", "conditioning.set_area", "conditioning.set_area_fraction", "conditioning.set_mask", "conditioning.set_strength", "conditioning.set_timestep_range", "conditioning.zero_out", "controlnet.apply", "controlnet.load", "controlnet.union_type", "diffusion.ksampler", "diffusion.sample", "diffusion.scheduler", "guidance.cfg", "guidance.dual_cfg", "guidance.perp_neg", "image.add_noise", "image.alpha", "image.anyline", "image.batch", "image.binary", "image.blend", "image.blur", "image.blur_gaussian", "image.canny", "image.canny_kornia", "image.color_grid", "image.composite", "image.crop", "image.depth", "image.depth_anything", "image.empty", "image.flip", "image.from_batch", "image.from_mask", "image.from_yuv", "image.grid", "image.hed", "image.inpaint_control", "image.intensity", "image.invert", "image.leres", "image.lineart", "image.lineart_anime", "image.lineart_standard", "image.load", "image.manga_lineart", "image.masked_fill", "image.midas", "image.mlsd", "image.morphology", "image.normal_bae", "image.openpose", "image.pad_for_outpaint", "image.pidinet", "image.porter_duff", "image.pose", "image.preview", "image.repeat", "image.resize", "image.resize_and_pad", "image.rotate", "image.save", "image.save_animated", "image.scribble", "image.scribble_xdog", "image.send", "image.sharpen", "image.shuffle", "image.stitch", "image.teed", "image.threshold", "image.tile_resample", "image.to_yuv", "image.upscale_with_model", "inpaint.prepare", "ipadapter.apply", "ipadapter.load", "latent.add", "latent.add_noise", "latent.batch", "latent.blend", "latent.composite", "latent.concat", "latent.crop", "latent.cut", "latent.cut_to_batch", "latent.empty", "latent.flip", "latent.from_batch", "latent.interpolate", "latent.load", "latent.multiply", "latent.noise", "latent.operation", "latent.preview", "latent.repeat", "latent.resize", "latent.rotate", "latent.save", "latent.seed_behavior", "latent.subtract", "lora.apply", "mask.composite", "mask.crop", "mask.expand", "mask.feather", "mask.from_batch", "mask.from_color", "mask.from_image", "mask.grow", "mask.invert", "mask.load", "mask.solid", "mask.threshold", "model.load", "model.sampling", "model.sampling_continuous", "model.save", "t2i_adapter.load", "unet.attention_multiply", "unet.deep_shrink", "unet.denoiser", "unet.freeu", "unet.hypertile", "unet.load", "unet.merge", "unet.merge_blocks", "unet.token_merge", "upscale.load", "vae.decode", "vae.decode_tiled", "vae.encode", "vae.encode_tiled", "vae.load"],
            pack.Nodes.Select(n => n.Id).Order(StringComparer.Ordinal));
        Assert.All(pack.Nodes, n =>
        {
            Assert.False(string.IsNullOrWhiteSpace(n.Description), n.Id);
            Assert.Matches(@"^\d+\.\d+\.\d+$", n.Version);
            Assert.All(n.Inputs.Concat(n.Outputs), p => Assert.False(string.IsNullOrWhiteSpace(p.Description), $"{n.Id}.{p.Name}"));
        });
    }

    private const string EmptyLatentGraph = """
        flowdiffusion: 1
        name: empty-latent
        inputs:
          prompt: { type: string, default: red }
        nodes:
          model: { node: model.load, with: { path: models/analytic-sd } }
          tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: $prompt } }
          positive: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
          guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: positive.conditioning }, with: { scale: 1 } }
          schedule: { node: diffusion.scheduler, in: { config: model.scheduler_config }, with: { name: heun, steps: 5 } }
          empty: { node: latent.empty, with: { width: 64, height: 48, batch: 2 } }
          sample: { node: diffusion.sample, in: { guider: guider.guider, schedule: schedule.schedule, noise: empty.latent } }
          preview: { node: latent.preview, in: { latent: sample.latent } }
          start: { node: latent.preview, in: { latent: empty.latent } }
          decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
        """;

    [Fact]
    public async Task Sampling_from_empty_latents_reaches_the_prompts_colour_and_previews_have_image_size()
    {
        var run = (await SdEngine.Shared.RunYamlAsync(EmptyLatentGraph, new Dictionary<string, object?> { ["prompt"] = "purple and yellow" })).AssertCompleted();

        var image = run.Image();
        Assert.Equal((2, 48, 64), (image.Batch, image.Height, image.Width));
        for (var i = 0; i < 2; i++) Colour.Near(new Colour(0.75, 0.5, 0.25), Colour.MeanOf(image, i));
        var preview = Assert.IsType<Image>(run.Result.Output("preview", "image"));
        Assert.Equal((2, 48, 64), (preview.Batch, preview.Height, preview.Width));
        Assert.All(preview.ToArray(), v => Assert.InRange(v, 0f, 1f));
        // Zero latents preview as mid-gray: the linear map sends 0 to 0, shown at the middle of [−1, 1].
        Assert.All(Assert.IsType<Image>(run.Result.Output("start", "image")).ToArray(), v => Assert.Equal(0.5f, v));
    }

    [Fact]
    public async Task Sampler_makes_its_preview_strip_only_when_something_reads_it()
    {
        // With a save node the run's only target is the save, so what no executing node reads is unused.
        var saving = EmptyLatentGraph + "\n  save: { node: image.save, in: { images: decode.image }, with: { prefix: strip-test } }";
        var unread = (await SdEngine.Shared.RunYamlAsync(saving, new Dictionary<string, object?> { ["prompt"] = "cyan" })).AssertCompleted();
        var read = (await SdEngine.Shared.RunYamlAsync(saving + "\n  strip: { node: image.save, in: { images: sample.previews }, with: { prefix: strip-test } }"
            + "\n  keep: { node: image.save, in: { images: preview.image }, with: { prefix: strip-test } }",
            new Dictionary<string, object?> { ["prompt"] = "cyan" })).AssertCompleted();

        Assert.Null(unread.Result.Output("sample", "previews"));
        var strip = Assert.IsType<Image>(read.Result.Output("sample", "previews"));
        Assert.Equal((1, 48, 64), (strip.Batch, strip.Height, strip.Width));
        // Previews off: the strip is the final frame alone, the linear preview of image 0 (what latent.preview shows).
        var preview = Assert.IsType<Image>(read.Result.Output("preview", "image"));
        Assert.Equal(preview.ToArray().AsSpan(0, 3 * 48 * 64).ToArray(), strip.ToArray());
        // The earlier result lacks the strip, so the sampler ran again rather than being served from the cache.
        Assert.Contains(read.Result.Nodes, n => n.NodeId == "sample" && !n.Cached);
    }

    [Fact]
    public async Task Live_previews_without_a_vae_come_at_latent_resolution_and_match_the_image_size_approximation()
    {
        var yaml = EmptyLatentGraph.Replace("noise: empty.latent } }", "noise: empty.latent }, with: { preview_every: 1 } }", StringComparison.Ordinal);
        Assert.NotEqual(EmptyLatentGraph, yaml);

        var run = (await SdEngine.Shared.RunYamlAsync(yaml + "\n  strip: { node: image.save, in: { images: sample.previews }, with: { prefix: live } }",
            new Dictionary<string, object?> { ["prompt"] = "magenta" })).AssertCompleted();

        // 5 heun steps are 9 timesteps: a preview after each but the last; the strip holds them at image size, then the result.
        var live = run.Events.OfType<NodePreviewed>().Where(e => e.NodeId == "sample").Select(e => e.Preview).ToList();
        Assert.Equal(8, live.Count);
        Assert.All(live, p => Assert.Equal((1, 6, 8), (p.Batch, p.Height, p.Width)));
        var strip = Assert.IsType<Image>(run.Result.Output("sample", "previews"));
        Assert.Equal((9, 48, 64), (strip.Batch, strip.Height, strip.Width));
        for (var frame = 0; frame < live.Count; frame++)
        for (var c = 0; c < 3; c++)
        for (var y = 0; y < 6; y++)
        for (var x = 0; x < 8; x++)
            Assert.Equal(strip.PixelsOf(frame)[(c * 48 + 8 * y) * 64 + 8 * x], live[frame].Pixels[(c * 6 + y) * 8 + x]);
    }
}
