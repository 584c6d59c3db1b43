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
        var fields = new List<string>
        {
            $"Steps: {request.Steps}",
            $"Sampler: {request.Sampler.Name}",
        };
        if (request.Scheduler.ComfyScheduler is not null) fields.Add($"Schedule type: {request.Scheduler.Label}");
        fields.Add($"CFG scale: {A1111Prompt.Format(request.CfgScale)}");
        fields.Add($"Seed: {seed}");
        fields.Add($"Size: {request.Width}x{request.Height}");
        fields.Add($"Model: {ModelName(checkpoint)}");
        if (request.Img2Img || request.Hires is not null) fields.Add($"Denoising strength: {request.DenoisingStrength.ToString(CultureInfo.InvariantCulture)}");
        if (request.Inpainting is { } inpaint)
        {
            // A1111's extra generation parameters of inpainting, in the order it adds them (fill 1, original, adds no "Masked content").
            if (inpaint.Invert) fields.Add("Mask mode: Inpaint not masked");
            if (inpaint.Blur > 0) fields.Add($"Mask blur: {inpaint.Blur}");
            if (inpaint.OnlyMasked) fields.AddRange(["Inpaint area: Only masked", $"Masked area padding: {inpaint.Padding}"]);
            if (inpaint.MaskedContent is { } content) fields.Add($"Masked content: {content}");
        }

        if (request.Hires is { } hires)
        {
            fields.Add($"Hires upscale: {hires.Scale.ToString(CultureInfo.InvariantCulture)}");
            if (hires.SecondPassSteps > 0) fields.Add($"Hires steps: {hires.SecondPassSteps}");
            fields.Add($"Hires upscaler: {hires.Upscaler}");
        }

        if (clipSkip > 1) fields.Add($"Clip skip: {clipSkip}");
        fields.AddRange(request.ControlNet.Select(u => $"ControlNet {u.Index}: {Quote(u.Infotext)}"));
        fields.Add("Version: FlowDiffusion");
        var negative = request.NegativePrompt.Length > 0 ? $"\nNegative prompt: {request.NegativePrompt}" : "";
        return $"{request.Prompt}{negative}\n{string.Join(", ", fields)}";
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
        var extra = new JsonObject();
        if (request.Scheduler.ComfyScheduler is not null) extra["Schedule type"] = request.Scheduler.Label;
        foreach (var unit in request.ControlNet) extra[$"ControlNet {unit.Index}"] = unit.Infotext;
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
