using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// A txt2img or img2img request of A1111's API, read and checked field by field with A1111's defaults
/// (<c>StableDiffusionTxt2ImgProcessingAPI</c>, <c>StableDiffusionImg2ImgProcessingAPI</c>). A field that would change
/// the image in a way FlowDiffusion does not follow is refused by name; unknown fields are ignored, as A1111 ignores them.
/// </summary>
public sealed record A1111Request
{
    /// <summary>The most images one request may ask for (batch_size × n_iter).</summary>
    public const int MaxImages = 64;

    /// <summary>The largest width or height.</summary>
    public const int MaxSize = 2048;

    /// <summary>Whether it is an img2img request.</summary>
    public bool Img2Img { get; init; }

    /// <summary>The prompt (A1111's syntax).</summary>
    public string Prompt { get; init; } = "";

    /// <summary>The prompt's text without its <c>&lt;lora:…&gt;</c> tags, which the text encoder reads.</summary>
    public string PromptText { get; init; } = "";

    /// <summary>The prompt's LoRAs, in order.</summary>
    public IReadOnlyList<A1111Lora> Loras { get; init; } = [];

    /// <summary>The negative prompt.</summary>
    public string NegativePrompt { get; init; } = "";

    /// <summary>The seed as sent (−1: random).</summary>
    public long Seed { get; init; } = -1;

    /// <summary>The sampler.</summary>
    public required A1111Sampler Sampler { get; init; }

    /// <summary>The scheduler (Automatic: the sampler's own).</summary>
    public required A1111Scheduler Scheduler { get; init; }

    /// <summary>Images per batch.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Batches.</summary>
    public int Iterations { get; init; } = 1;

    /// <summary>Sampling steps.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>CFG scale.</summary>
    public double CfgScale { get; init; } = 7;

    /// <summary>Width in pixels.</summary>
    public int Width { get; init; } = 512;

    /// <summary>Height in pixels.</summary>
    public int Height { get; init; } = 512;

    /// <summary>img2img's denoising strength.</summary>
    public double DenoisingStrength { get; init; } = 0.75;

    /// <summary>txt2img's hires fix (<c>enable_hr</c>), or null without it.</summary>
    public A1111HiresFix? Hires { get; init; }

    /// <summary>The checkpoint <c>override_settings.sd_model_checkpoint</c> names, or null.</summary>
    public string? CheckpointOverride { get; init; }

    /// <summary>The CLIP skip <c>override_settings.CLIP_stop_at_last_layers</c> sets, or null.</summary>
    public int? ClipSkipOverride { get; init; }

    /// <summary>Whether the answer carries the images.</summary>
    public bool SendImages { get; init; } = true;

    /// <summary>Whether the images are kept in the output folder (else they are previews).</summary>
    public bool SaveImages { get; init; }

    /// <summary>img2img's <c>resize_mode</c>: 0 just resize, 1 crop and resize, 2 resize and fill, 3 just resize (latent upscale).</summary>
    public int ResizeMode { get; init; }

    /// <summary>img2img's inpainting (<c>mask</c> and its fields), or null without a mask.</summary>
    public A1111Inpainting? Inpainting { get; init; }

    /// <summary>img2img's first init image, base64 (a data: URL prefix removed).</summary>
    public string? InitImage { get; init; }

    /// <summary>The enabled ControlNet units of <c>alwayson_scripts.controlnet.args</c> (the sd-webui-controlnet extension's API).</summary>
    public IReadOnlyList<A1111ControlNetUnit> ControlNet { get; init; } = [];

    /// <summary>The request as sent, with A1111's defaults for the fields it left out (the answer's <c>parameters</c>).</summary>
    public required JsonObject Parameters { get; init; }

    /// <summary>Reads a request body; throws <see cref="A1111RequestException"/> naming the first bad field.</summary>
    public static A1111Request Parse(JsonNode? body, bool img2img)
    {
        if (body is not JsonObject json) throw new A1111RequestException(422, "body", "the body must be a JSON object of A1111's generation fields");
        var parameters = (JsonObject)json.DeepClone();
        string Text(string field, string fallback) => A1111Fields.Text(json[field], field) ?? Default(field, fallback);

        T Default<T>(string field, T fallback)
        {
            parameters[field] = JsonValue.Create(fallback);
            return fallback;
        }

        long Integer(string field, long fallback, long min, long max) => A1111Fields.Integer(json[field], field, min, max) ?? Default(field, fallback);

        double Number(string field, double fallback, double min, double max) => A1111Fields.Number(json[field], field, min, max) ?? Default(field, fallback);

        bool Flag(string field, bool fallback) => A1111Fields.Flag(json[field], field) ?? Default(field, fallback);

        var prompt = Text("prompt", "");
        var (promptText, loras) = A1111ExtraNetworks.Parse(prompt, "prompt");
        var negative = Text("negative_prompt", "");
        var seed = Integer("seed", -1, -1, long.MaxValue - MaxImages);
        var samplerName = json["sampler_name"] is JsonValue { } named && named.GetValueKind() == JsonValueKind.String && named.GetValue<string>().Length > 0 ? "sampler_name"
            : json["sampler_index"] is JsonValue { } indexed && indexed.GetValueKind() == JsonValueKind.String && indexed.GetValue<string>().Length > 0 ? "sampler_index" : null;
        var samplerText = samplerName is null ? "Euler" : json[samplerName]!.GetValue<string>();
        if (samplerName is null) parameters["sampler_name"] = samplerText;
        var found = A1111Samplers.Find(samplerText);
        if (found is null)
        {
            var why = A1111Samplers.Unsupported.Contains(samplerText, StringComparer.OrdinalIgnoreCase) ? "FlowDiffusion does not run this A1111 sampler" : "no such sampler";
            throw new A1111RequestException(404, samplerName ?? "sampler_name",
                $"'{samplerText}': {why}; use one of {string.Join(", ", A1111Samplers.All.Select(s => s.Name))} (GET /sdapi/v1/samplers)");
        }

        var scheduler = found.Value.Scheduler ?? A1111Samplers.Schedulers[0];
        if (json["scheduler"] is { } schedulerNode && schedulerNode.GetValueKind() != JsonValueKind.Null)
        {
            var text = Text("scheduler", "");
            // A combined old name's schedule stands unless the scheduler field names another than Automatic.
            var named2 = A1111Samplers.FindScheduler(text)
                         ?? throw new A1111RequestException(422, "scheduler", $"'{text}' is not a scheduler FlowDiffusion runs; use one of {string.Join(", ", A1111Samplers.Schedulers.Select(s => s.Label))} (GET /sdapi/v1/schedulers)");
            if (named2.ComfyScheduler is not null) scheduler = named2;
        }

        var batch = (int)Integer("batch_size", 1, 1, MaxImages);
        var iterations = (int)Integer("n_iter", 1, 1, MaxImages);
        if (batch * iterations > MaxImages) throw new A1111RequestException(422, "n_iter", $"batch_size × n_iter is {batch * iterations}; at most {MaxImages} images a request");
        var steps = (int)Integer("steps", 50, 1, 150);
        var cfg = Number("cfg_scale", 7, 0, 100);
        var width = (int)Integer("width", 512, 64, MaxSize);
        var height = (int)Integer("height", 512, 64, MaxSize);
        if (width % 8 != 0) throw new A1111RequestException(422, "width", $"{width} is not a multiple of 8 (the latent is 1/8 of the image)");
        if (height % 8 != 0) throw new A1111RequestException(422, "height", $"{height} is not a multiple of 8 (the latent is 1/8 of the image)");
        var hires = !img2img && Flag("enable_hr", false);
        var denoise = img2img ? Number("denoising_strength", 0.75, 0, 1) : hires ? Number("denoising_strength", 0.7, 0, 1) : 0;
        var fix = hires ? A1111HiresFix.Parse(json, width, height, steps, denoise, Integer, Number, Text) : null;
        var (checkpoint, clipSkip) = Overrides(json["override_settings"]);
        Refusals(json, img2img);
        var controlNet = A1111ControlNetUnit.Parse(json["alwayson_scripts"]);
        A1111ControlNetUnit.RemoveImages(parameters["alwayson_scripts"]);

        string? init = null;
        var resizeMode = 0;
        A1111Inpainting? inpainting = null;
        if (img2img)
        {
            if (json["init_images"] is not JsonArray { Count: > 0 } images)
                throw new A1111RequestException(422, "init_images", "img2img needs one base64 image in init_images");
            if (images.Count > 1) throw new A1111RequestException(422, "init_images", $"{images.Count} images: FlowDiffusion's img2img takes one init image");
            init = images[0] is JsonValue first && first.GetValueKind() == JsonValueKind.String ? first.GetValue<string>()
                : throw new A1111RequestException(422, "init_images[0]", "must be a base64 string");
            // The answer echoes the request as A1111's does, but not its megabytes of input.
            parameters["init_images"] = null;
            resizeMode = (int)Integer("resize_mode", 0, 0, 3);
            inpainting = A1111Inpainting.Parse(json, parameters, Integer, Number);
            if (inpainting is not null) parameters["mask"] = null;
            if ((long)(steps * Math.Min(denoise, 0.999)) < 1)
                throw new A1111RequestException(422, "denoising_strength", $"{denoise.ToString(CultureInfo.InvariantCulture)} of {steps} steps runs no step (A1111 runs int(steps × denoising_strength) + 1 of them but returns the input unchanged below one)");
        }

        return new A1111Request
        {
            Img2Img = img2img,
            Prompt = prompt,
            PromptText = promptText,
            Loras = loras,
            NegativePrompt = negative,
            Seed = seed,
            Sampler = found.Value.Sampler,
            Scheduler = scheduler,
            BatchSize = batch,
            Iterations = iterations,
            Steps = steps,
            CfgScale = cfg,
            Width = width,
            Height = height,
            DenoisingStrength = denoise,
            Hires = fix,
            CheckpointOverride = checkpoint,
            ClipSkipOverride = clipSkip,
            SendImages = Flag("send_images", true),
            SaveImages = Flag("save_images", false),
            InitImage = init,
            ResizeMode = resizeMode,
            Inpainting = inpainting,
            ControlNet = controlNet,
            Parameters = parameters,
        };
    }

    /// <summary>The settings the layer reads from <c>override_settings</c> (and <c>/sdapi/v1/options</c>); other keys are refused by name.</summary>
    public static (string? Checkpoint, int? ClipSkip) Overrides(JsonNode? settings, string prefix = "override_settings.")
    {
        if (settings is null || settings.GetValueKind() == JsonValueKind.Null) return (null, null);
        if (settings is not JsonObject values) throw new A1111RequestException(422, prefix.TrimEnd('.'), "must be an object of settings");
        string? checkpoint = null;
        int? clipSkip = null;
        foreach (var (key, value) in values)
        {
            switch (key)
            {
                case "sd_model_checkpoint":
                    checkpoint = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
                        : throw new A1111RequestException(422, prefix + key, "must be a checkpoint title (GET /sdapi/v1/sd-models)");
                    break;
                case "CLIP_stop_at_last_layers":
                    clipSkip = JsonNumbers.Integer(value) is { } skip and >= 1 and <= 12 ? (int)skip
                        : throw new A1111RequestException(422, prefix + key, $"must be an integer 1–12, not {value?.ToJsonString() ?? "null"}");
                    break;
                // Settings that change no pixel here: the fixed ones sent back unchanged, sd_vae None (the checkpoint's VAE
                // too), and display and file-naming options.
                case var fixedKey when A1111Settings.Fixed.TryGetValue(fixedKey, out var fixedValue) && Same(value, fixedValue):
                case "sd_vae" when value is JsonValue vae && vae.GetValueKind() == JsonValueKind.String && vae.GetValue<string>() == "None":
                case "samples_save" or "save_images_add_number" or "live_previews_enable" or "show_progressbar":
                    break;
                default:
                    throw new A1111RequestException(422, prefix + key, $"the setting {value?.ToJsonString() ?? "null"} is not supported: FlowDiffusion reads sd_model_checkpoint and CLIP_stop_at_last_layers; {string.Join(", ", A1111Settings.Fixed.Keys)} only at the values GET /sdapi/v1/options gives");
            }
        }

        return (checkpoint, clipSkip);
    }

    // Equal JSON values, numbers by value (1 and 1.0 are the same setting).
    private static bool Same(JsonNode? a, JsonNode? b) =>
        JsonNumbers.Number(a) is { } x && JsonNumbers.Number(b) is { } y ? x == y : JsonNode.DeepEquals(a, b);

    // Fields that would change the image in ways this layer does not follow: refused unless left at A1111's default.
    private static void Refusals(JsonObject json, bool img2img)
    {
        static bool Off(JsonNode? node, params object?[] defaults) =>
            node is null || node.GetValueKind() == JsonValueKind.Null
            || defaults.Any(d => d switch
            {
                bool b => node.GetValueKind() == (b ? JsonValueKind.True : JsonValueKind.False),
                double x => JsonNumbers.Number(node) == x,
                string s => node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == s,
                _ => false,
            })
            || node is JsonArray { Count: 0 } || node is JsonObject { Count: 0 };

        (string Field, object?[] Defaults, string Why)[] rules =
        [
            ("restore_faces", [false], "face restoration is not supported"),
            ("tiling", [false], "tiling is not supported"),
            ("subseed_strength", [0.0], "variation seeds are not supported"),
            ("seed_resize_from_h", [-1.0, 0.0], "seed resize is not supported"),
            ("seed_resize_from_w", [-1.0, 0.0], "seed resize is not supported"),
            ("styles", [], "styles are not supported: put their text in the prompt"),
            ("script_name", [""], "scripts are not supported"),
            ("refiner_checkpoint", ["", "None"], "refiner checkpoints are not supported"),
            ("eta", [1.0], "FlowDiffusion's ancestral samplers use eta 1 (A1111's default)"),
            ("s_churn", [0.0], "s_churn is not supported"),
            ("s_noise", [1.0], "s_noise is not supported"),
            ("s_tmin", [0.0], "s_tmin is not supported"),
            ("s_min_uncond", [0.0], "negative guidance minimum sigma is not supported"),
            ("include_init_images", [false], "include_init_images is not supported"),
        ];
        foreach (var (field, defaults, why) in rules)
        {
            if (field is "include_init_images" && !img2img) continue;
            if (!Off(json[field], defaults)) throw new A1111RequestException(422, field, $"{json[field]!.ToJsonString()}: {why}");
        }

        if (json["s_tmax"] is { } tmax && tmax.GetValueKind() != JsonValueKind.Null && JsonNumbers.Number(tmax) is not 0)
            throw new A1111RequestException(422, "s_tmax", $"{tmax.ToJsonString()}: s_tmax is not supported");
        // A1111 reads extra networks from the prompt only; in the negative prompt a tag would be text, which no client means.
        if (json["negative_prompt"] is JsonValue n && n.GetValueKind() == JsonValueKind.String && n.GetValue<string>().Contains("<lora:", StringComparison.OrdinalIgnoreCase))
            throw new A1111RequestException(422, "negative_prompt", "<lora:…> belongs in the prompt; A1111 applies no extra networks from the negative prompt");
    }
}
