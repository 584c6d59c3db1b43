using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// A1111's <c>extra_generation_params</c> of a request, in the order A1111 1.10 fills that dictionary: the scripts'
/// <c>process()</c> first (sd-webui-controlnet's units), then the processing's <c>init()</c> (img2img: denoising strength,
/// then the mask's keys; txt2img's hires fix: denoising strength, the hires prompts and schedule type it leaves unset,
/// the target size, steps and upscaler), then what the sampler adds when it samples (the schedule type it runs). The answer's
/// <c>info</c> lists them in this order (unset values as null, as its JSON writes callables), and the infotext merges
/// them into its fixed keys (<see cref="A1111Infotext.Of"/>), so one list feeds both.
/// </summary>
internal static class A1111ExtraParams
{
    /// <summary>The extra parameters, in A1111's order; a null value is a key A1111 sets without a value for this request.</summary>
    public static List<KeyValuePair<string, JsonNode?>> Of(A1111Request request)
    {
        var extra = new List<KeyValuePair<string, JsonNode?>>();
        void Add(string key, JsonNode? value) => extra.Add(new(key, value));
        foreach (var unit in request.ControlNet) Add($"ControlNet {unit.Index}", unit.Infotext);
        if (request.Img2Img || request.Hires is not null) Add("Denoising strength", request.DenoisingStrength);
        if (request.Inpainting is { } inpaint)
        {
            if (inpaint.Invert) Add("Mask mode", "Inpaint not masked");
            if (inpaint.Blur > 0) Add("Mask blur", inpaint.Blur);
            if (inpaint.OnlyMasked)
            {
                Add("Inpaint area", "Only masked");
                Add("Masked area padding", inpaint.Padding);
            }

            // Fill 1 (original) adds no "Masked content".
            if (inpaint.MaskedContent is { } content) Add("Masked content", content);
        }

        if (request.Hires is { } hires)
        {
            // Functions of the prompt A1111 evaluates per image (null while the hires prompts are the prompts, which
            // A1111Request requires), and the hires schedule type the sampler fills only when it differs.
            Add("Hires prompt", null);
            Add("Hires negative prompt", null);
            Add("Hires schedule type", null);
            if (hires.Resized) Add("Hires resize", $"{hires.Width}x{hires.Height}");
            else Add("Hires upscale", hires.Scale);
            if (hires.SecondPassSteps > 0) Add("Hires steps", hires.SecondPassSteps);
            Add("Hires upscaler", hires.Upscaler);
        }

        // The sampler writes the schedule it runs unless that is Automatic's plain timesteps: a named schedule, or the one
        // the sampler's options give Automatic (DPM++ 2M: Karras).
        if ((request.Scheduler.ComfyScheduler is not null ? request.Scheduler.Label : request.Sampler.OwnScheduleLabel) is { } schedule)
            Add("Schedule type", schedule);
        return extra;
    }

    /// <summary>A value as A1111's infotext writes it: Python's <c>str</c> (floats as 2.0, 0.75), quoted when it holds a comma, colon or newline.</summary>
    public static string Text(JsonNode value) => value switch
    {
        // The values are made here from C# doubles, ints and strings: a double is a Python float.
        JsonValue v when v.TryGetValue<double>(out var d) => Conversion.ApiPromptConverter.PythonFloat(d),
        JsonValue v when v.TryGetValue<string>(out var s) => A1111Infotext.Quote(s),
        _ => value.ToJsonString(),
    };
}
