using System.Globalization;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// The ComfyUI API prompt an A1111 request runs as: CheckpointLoaderSimple (a LoraLoader per &lt;lora:…&gt;, CLIPSetLastLayer for a CLIP skip), the two
/// CLIPTextEncodes, EmptyLatentImage (img2img: the init image brought to the size by resize_mode and encoded, with a mask
/// A1111's inpainting: <see cref="A1111Img2ImgNodes"/>), then per image a KSampler (img2img: KSamplerAdvanced from
/// A1111's first step), VAEDecode (with a mask the paste back) and SaveImage or PreviewImage. Each image
/// has its own sampler at seed + i, so every image's reported seed gives it again alone, as in A1111; the hires fix adds
/// LatentUpscale (or, for an image upscaler, VAEDecode, <see cref="A1111Upscalers.Resize"/>'s nodes and VAEEncode) and a
/// second KSamplerAdvanced.
/// </summary>
public static class A1111Prompt
{
    /// <summary>The id of image <paramref name="index"/>'s output node.</summary>
    public static string SaveId(int index) => $"save_{index}";

    /// <summary>The ComfyUI node id that carries each A1111 field, for errors the converter reports on that node.</summary>
    public static IReadOnlyDictionary<string, string> FieldOf { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["checkpoint"] = "override_settings.sd_model_checkpoint",
        ["clip_skip"] = "override_settings.CLIP_stop_at_last_layers",
        ["positive"] = "prompt",
        ["negative"] = "negative_prompt",
        ["latent"] = "width",
        ["init_image"] = "init_images[0]",
        ["resize"] = "init_images[0]",
        ["encode"] = "init_images[0]",
    };

    /// <summary>Builds the prompt.</summary>
    /// <param name="request">The checked request.</param>
    /// <param name="checkpoint">ComfyUI's ckpt_name.</param>
    /// <param name="clipSkip">A1111's CLIP skip (1: none).</param>
    /// <param name="seed">The first image's seed (−1 already replaced).</param>
    /// <param name="initImage">img2img: the init image's LoadImage name and its size; null for txt2img.</param>
    /// <param name="loras">The LoRA file of each of the request's <see cref="A1111Request.Loras"/>, in order.</param>
    /// <param name="mask">img2img inpainting: the stored mask and its region; null without one.</param>
    public static JsonObject Build(A1111Request request, string checkpoint, int clipSkip, long seed, (string Name, int Width, int Height)? initImage,
        IReadOnlyList<string>? loras = null, A1111MaskFile? mask = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var prompt = new JsonObject
        {
            ["checkpoint"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = checkpoint }),
        };
        JsonArray model = ["checkpoint", 0];
        JsonArray clip = ["checkpoint", 1];
        for (var i = 0; i < request.Loras.Count; i++)
        {
            // <lora:name:te:unet>: a LoraLoader each, chained in the prompt's order.
            prompt[$"lora_{i}"] = Node("LoraLoader", new JsonObject
            {
                ["model"] = model, ["clip"] = clip, ["lora_name"] = loras![i],
                ["strength_model"] = request.Loras[i].Unet, ["strength_clip"] = request.Loras[i].TextEncoder,
            });
            model = [$"lora_{i}", 0];
            clip = [$"lora_{i}", 1];
        }

        if (clipSkip > 1)
        {
            prompt["clip_skip"] = Node("CLIPSetLastLayer", new JsonObject { ["clip"] = clip, ["stop_at_clip_layer"] = -clipSkip });
            clip = ["clip_skip", 0];
        }

        prompt["positive"] = Node("CLIPTextEncode", new JsonObject { ["clip"] = clip.DeepClone(), ["text"] = request.PromptText });
        prompt["negative"] = Node("CLIPTextEncode", new JsonObject { ["clip"] = clip.DeepClone(), ["text"] = request.NegativePrompt });
        JsonArray latent;
        JsonArray positive = ["positive", 0], negative = ["negative", 0];
        A1111Img2ImgNodes? img2img = null;
        if (initImage is { } init)
        {
            // The init image brought to the size by resize_mode, and with a mask A1111's inpainting (A1111Img2ImgNodes).
            img2img = new A1111Img2ImgNodes(prompt, request, init, mask);
            latent = img2img.Input(ref positive, ref negative);
        }
        else
        {
            prompt["latent"] = Node("EmptyLatentImage", new JsonObject { ["width"] = request.Width, ["height"] = request.Height, ["batch_size"] = 1 });
            latent = ["latent", 0];
        }

        var scheduler = request.Scheduler.ComfyScheduler ?? request.Sampler.AutomaticScheduler;
        for (var i = 0; i < request.BatchSize * request.Iterations; i++)
        {
            var inputs = new JsonObject
            {
                ["model"] = model.DeepClone(),
                ["positive"] = positive.DeepClone(),
                ["negative"] = negative.DeepClone(),
                ["latent_image"] = (img2img?.LatentOf(i, seed, latent) ?? latent).DeepClone(),
                ["sampler_name"] = request.Sampler.ComfySampler,
                ["scheduler"] = scheduler,
                ["cfg"] = request.CfgScale,
                ["steps"] = request.Steps,
            };
            if (initImage is null)
            {
                inputs["seed"] = seed + i;
                inputs["denoise"] = 1.0;
                prompt[$"sample_{i}"] = Node("KSampler", inputs);
            }
            else
            {
                // A1111's img2img runs the last int(steps × min(strength, 0.999)) + 1 steps of a steps-long schedule.
                var encoded = (int)(request.Steps * Math.Min(request.DenoisingStrength, 0.999));
                inputs["noise_seed"] = seed + i;
                inputs["add_noise"] = "enable";
                inputs["start_at_step"] = request.Steps - encoded - 1;
                inputs["end_at_step"] = 10000;
                inputs["return_with_leftover_noise"] = "disable";
                prompt[$"sample_{i}"] = Node("KSamplerAdvanced", inputs);
            }

            var samples = $"sample_{i}";
            if (request.Hires is { } hires)
            {
                // Hires fix: the first pass's latent stretched to the target size (a latent upscaler), or its image decoded,
                // upscaled and encoded (an image upscaler), then img2img's schedule over the second pass's steps, with fresh
                // noise from the image's seed at that size, as A1111's.
                JsonArray upscaled = [$"upscale_{i}", 0];
                if (hires.ImageUpscaler is { } upscaler)
                {
                    prompt[$"upscaler_decode_{i}"] = Node("VAEDecode", new JsonObject { ["samples"] = new JsonArray(samples, 0), ["vae"] = new JsonArray("checkpoint", 2) });
                    var pixels = A1111Upscalers.Resize(prompt, $"upscaler_{i}", [$"upscaler_decode_{i}", 0], request.Width, request.Height, hires.Width, hires.Height, upscaler);
                    prompt[$"upscaler_encode_{i}"] = Node("VAEEncode", new JsonObject { ["pixels"] = pixels, ["vae"] = new JsonArray("checkpoint", 2) });
                    upscaled = [$"upscaler_encode_{i}", 0];
                }
                else
                {
                    prompt[$"upscale_{i}"] = Node("LatentUpscale", new JsonObject
                    {
                        ["samples"] = new JsonArray(samples, 0), ["upscale_method"] = hires.ComfyMethod, ["width"] = hires.Width, ["height"] = hires.Height, ["crop"] = "disabled",
                    });
                }

                var second = (JsonObject)inputs.DeepClone();
                second.Remove("seed");
                second.Remove("denoise");
                second["latent_image"] = upscaled;
                second["steps"] = hires.Steps;
                second["noise_seed"] = seed + i;
                second["add_noise"] = "enable";
                second["start_at_step"] = hires.Steps - (int)(hires.Steps * Math.Min(request.DenoisingStrength, 0.999)) - 1;
                second["end_at_step"] = 10000;
                second["return_with_leftover_noise"] = "disable";
                prompt[$"hires_{i}"] = Node("KSamplerAdvanced", second);
                samples = $"hires_{i}";
            }

            prompt[$"decode_{i}"] = Node("VAEDecode", new JsonObject { ["samples"] = new JsonArray(samples, 0), ["vae"] = new JsonArray("checkpoint", 2) });
            var image = img2img?.PasteBack(i, [$"decode_{i}", 0]) ?? [$"decode_{i}", 0];
            prompt[SaveId(i)] = request.SaveImages
                ? Node("SaveImage", new JsonObject { ["images"] = image, ["filename_prefix"] = request.Img2Img ? "img2img" : "txt2img" })
                : Node("PreviewImage", new JsonObject { ["images"] = image });
        }

        return prompt;
    }

    /// <summary>The A1111 field a ComfyUI node of this prompt stands for.</summary>
    public static string FieldFor(string comfyId, string? input) =>
        FieldOf.TryGetValue(comfyId, out var field) ? field
        : comfyId.StartsWith("upscaler_", StringComparison.Ordinal) ? "hr_upscaler"
        : comfyId.StartsWith("upscale_", StringComparison.Ordinal) ? "hr_scale"
        : comfyId.StartsWith("lora_", StringComparison.Ordinal) ? "prompt"
        : comfyId.StartsWith("resize", StringComparison.Ordinal) ? "init_images[0]"
        : comfyId.StartsWith("mask", StringComparison.Ordinal) || comfyId.StartsWith("inpaint", StringComparison.Ordinal) || comfyId.StartsWith("paste", StringComparison.Ordinal) ? "mask"
        : comfyId.StartsWith("sample_", StringComparison.Ordinal) || comfyId.StartsWith("hires_", StringComparison.Ordinal) ? input switch
        {
            "sampler_name" => "sampler_name",
            "scheduler" => "scheduler",
            "cfg" => "cfg_scale",
            "steps" => "steps",
            "seed" or "noise_seed" => "seed",
            _ => "sampler_name",
        }
        : "body";

    private static JsonObject Node(string classType, JsonObject inputs) => new() { ["class_type"] = classType, ["inputs"] = inputs };

    internal static string Format(double value) => value.ToString("0.0###", CultureInfo.InvariantCulture);
}
