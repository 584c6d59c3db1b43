using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// A1111's generation parameters: the infotext each image's PNG carries in its <c>parameters</c> chunk ("prompt\nNegative
/// prompt: …\nSteps: …, Sampler: …") and the answer's <c>info</c> (A1111's <c>Processed.js()</c> keys).
/// </summary>
public static class A1111Infotext
{
    /// <summary>The infotext of the image made with <paramref name="seed"/>.</summary>
    public static string Of(A1111Request request, string checkpoint, int clipSkip, long seed)
    {
        ArgumentNullException.ThrowIfNull(request);
        // create_infotext's fixed keys in their order; the extra parameters then take a fixed key's place or follow.
        var fields = new List<KeyValuePair<string, string?>>
        {
            new("Steps", request.Steps.ToString(CultureInfo.InvariantCulture)),
            new("Sampler", request.Sampler.Name),
            // The request's scheduler as A1111's API passes it (Automatic when none); the sampler's own replaces it below.
            new("Schedule type", request.Scheduler.Label),
            new("CFG scale", A1111Prompt.Format(request.CfgScale)),
            new("Seed", seed.ToString(CultureInfo.InvariantCulture)),
            new("Size", $"{request.Width}x{request.Height}"),
            new("Model", ModelName(checkpoint)),
            new("Denoising strength", null),
            new("Clip skip", clipSkip > 1 ? clipSkip.ToString(CultureInfo.InvariantCulture) : null),
        };
        foreach (var (key, value) in A1111ExtraParams.Of(request))
        {
            var text = value is null ? null : A1111ExtraParams.Text(value);
            var at = fields.FindIndex(f => f.Key == key);
            if (at >= 0) fields[at] = new(key, text);
            else fields.Add(new(key, text));
        }

        fields.Add(new("Version", "FlowDiffusion"));
        var negative = request.NegativePrompt.Length > 0 ? $"\nNegative prompt: {request.NegativePrompt}" : "";
        return $"{request.Prompt}{negative}\n{string.Join(", ", fields.Where(f => f.Value is not null).Select(f => $"{f.Key}: {f.Value}"))}";
    }

    /// <summary>A value as A1111 writes it into an infotext: as is, or JSON-quoted when it holds a comma, colon or newline.</summary>
    public static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",:\n") < 0 ? value : JsonSerializer.Serialize(value, QuoteOptions);

    private static readonly JsonSerializerOptions QuoteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A1111's model name of a checkpoint: its file name without extension.</summary>
    public static string ModelName(string checkpoint) => Path.GetFileNameWithoutExtension(checkpoint.Replace('\\', '/').Split('/')[^1]);

    /// <summary>The answer's <c>info</c> object (sent as a JSON string).</summary>
    public static JsonObject Info(A1111Request request, string checkpoint, int clipSkip, long seed, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(request);
        var count = request.BatchSize * request.Iterations;
        var seeds = Enumerable.Range(0, count).Select(i => seed + i).ToList();
        JsonArray Repeat(string text) => new(Enumerable.Repeat(text, count).Select(t => (JsonNode)JsonValue.Create(t)).ToArray());
        var extra = new JsonObject(A1111ExtraParams.Of(request));
        return new JsonObject
        {
            ["prompt"] = request.Prompt,
            ["all_prompts"] = Repeat(request.Prompt),
            ["negative_prompt"] = request.NegativePrompt,
            ["all_negative_prompts"] = Repeat(request.NegativePrompt),
            ["seed"] = seed,
            ["all_seeds"] = new JsonArray(seeds.Select(s => (JsonNode)JsonValue.Create(s)).ToArray()),
            ["subseed"] = seed,
            ["all_subseeds"] = new JsonArray(seeds.Select(s => (JsonNode)JsonValue.Create(s)).ToArray()),
            ["subseed_strength"] = 0,
            ["width"] = request.Width,
            ["height"] = request.Height,
            ["sampler_name"] = request.Sampler.Name,
            ["cfg_scale"] = request.CfgScale,
            ["steps"] = request.Steps,
            ["batch_size"] = request.BatchSize,
            ["restore_faces"] = false,
            ["face_restoration_model"] = null,
            ["sd_model_name"] = ModelName(checkpoint),
            ["sd_model_hash"] = null,
            ["sd_vae_name"] = null,
            ["sd_vae_hash"] = null,
            ["seed_resize_from_w"] = -1,
            ["seed_resize_from_h"] = -1,
            ["denoising_strength"] = request.Img2Img || request.Hires is not null ? request.DenoisingStrength : null,
            ["extra_generation_params"] = extra,
            ["index_of_first_image"] = 0,
            ["infotexts"] = new JsonArray(seeds.Select(s => (JsonNode)JsonValue.Create(Of(request, checkpoint, clipSkip, s))).ToArray()),
            ["styles"] = new JsonArray(),
            ["job_timestamp"] = time.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture),
            ["clip_skip"] = clipSkip,
            ["is_using_inpainting_conditioning"] = false,
            ["version"] = "FlowDiffusion",
        };
    }
}
