using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// txt2img's hires fix: the first pass at width × height, its latent upscaled to the target size (a latent upscaler) or
/// its image decoded, upscaled and encoded again (an image upscaler: <see cref="A1111Upscalers"/>), then a second pass of
/// img2img at <c>denoising_strength</c>.
/// </summary>
/// <param name="Upscaler">A1111's <c>hr_upscaler</c> name.</param>
/// <param name="ComfyMethod">LatentUpscale's <c>upscale_method</c> for a latent upscaler; null for an image upscaler.</param>
/// <param name="Scale">A1111's <c>hr_scale</c>.</param>
/// <param name="Width">The target width (<c>hr_resize_x</c>, or int(width × hr_scale)).</param>
/// <param name="Height">The target height.</param>
/// <param name="SecondPassSteps">A1111's <c>hr_second_pass_steps</c> (0: the first pass's).</param>
/// <param name="Steps">The second pass's steps.</param>
public sealed record A1111HiresFix(string Upscaler, string? ComfyMethod, double Scale, int Width, int Height, int SecondPassSteps, int Steps)
{
    /// <summary>A1111's latent upscalers ComfyUI's LatentUpscale runs the same way (torch interpolate without antialiasing).</summary>
    public static IReadOnlyDictionary<string, string> LatentModes { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Latent"] = "bilinear",
        ["Latent (bicubic)"] = "bicubic",
        ["Latent (nearest-exact)"] = "nearest-exact",
    };

    /// <summary>Reads the <c>hr_*</c> fields with the request's readers; throws naming the field for what is not followed.</summary>
    internal static A1111HiresFix Parse(JsonObject json, int width, int height, int steps, double denoise,
        Func<string, long, long, long, long> integer, Func<string, double, double, double, double> number, Func<string, string, string> text)
    {
        var upscaler = json["hr_upscaler"] is null || json["hr_upscaler"]!.GetValueKind() == JsonValueKind.Null ? "Latent" : text("hr_upscaler", "Latent");
        var method = LatentModes.GetValueOrDefault(upscaler);
        if (method is null && upscaler.StartsWith("Latent", StringComparison.Ordinal))
            throw new A1111RequestException(422, "hr_upscaler", $"'{upscaler}': FlowDiffusion's hires fix runs the latent upscalers {string.Join(", ", LatentModes.Keys)} (antialiased and plain nearest modes are not supported) and the image upscalers of GET /sdapi/v1/upscalers");
        var scale = number("hr_scale", 2, 1, 4);
        var resizeX = (int)integer("hr_resize_x", 0, 0, A1111Request.MaxSize);
        var resizeY = (int)integer("hr_resize_y", 0, 0, A1111Request.MaxSize);
        if ((resizeX == 0) != (resizeY == 0))
            throw new A1111RequestException(422, resizeX == 0 ? "hr_resize_y" : "hr_resize_x", "set both hr_resize_x and hr_resize_y, or neither (then hr_scale)");
        var targetX = resizeX > 0 ? resizeX : (int)(width * scale);
        var targetY = resizeY > 0 ? resizeY : (int)(height * scale);
        var field = resizeX > 0 ? "hr_resize_x" : "hr_scale";
        if (targetX % 8 != 0 || targetY % 8 != 0 || targetX > A1111Request.MaxSize || targetY > A1111Request.MaxSize)
            throw new A1111RequestException(422, field, $"the hires size {targetX}x{targetY} must be multiples of 8, at most {A1111Request.MaxSize}");
        if (resizeX > 0 && (resizeX * height != resizeY * width))
            throw new A1111RequestException(422, "hr_resize_x", "hr_resize_x × hr_resize_y must keep the width:height ratio (A1111 crops otherwise, which FlowDiffusion does not)");
        var secondPass = (int)integer("hr_second_pass_steps", 0, 0, 150);
        var hiresSteps = secondPass > 0 ? secondPass : steps;
        if ((int)(hiresSteps * Math.Min(denoise, 0.999)) < 1)
            throw new A1111RequestException(422, "denoising_strength", $"{denoise} of {hiresSteps} hires steps runs no step");
        foreach (var (name, same) in new[] { ("hr_checkpoint_name", "Use same checkpoint"), ("hr_sampler_name", "Use same sampler"), ("hr_scheduler", "Use same scheduler") })
        {
            if (json[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is { Length: > 0 } value && value != same)
                throw new A1111RequestException(422, name, $"'{value}': the hires pass uses the first pass's; leave it out or send '{same}'");
        }

        foreach (var (name, first) in new[] { ("hr_prompt", "prompt"), ("hr_negative_prompt", "negative_prompt") })
        {
            if (json[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is { Length: > 0 } value
                && value != (json[first] is JsonValue p && p.GetValueKind() == JsonValueKind.String ? p.GetValue<string>() : ""))
                throw new A1111RequestException(422, name, $"a hires prompt other than {first} is not supported");
        }

        // An image upscaler's model file is looked up where the folders are known (A1111Jobs).
        return new A1111HiresFix(upscaler, method, scale, targetX, targetY, secondPass, hiresSteps)
        {
            ImageUpscaler = method is null ? new A1111Upscaler(upscaler, null) : null,
            Resized = resizeX > 0,
        };
    }

    /// <summary>The image upscaler (None, Lanczos, Nearest or a model), or null for a latent upscaler.</summary>
    public A1111Upscaler? ImageUpscaler { get; init; }

    /// <summary>Whether the target size came from <c>hr_resize_x</c>/<c>hr_resize_y</c> (A1111 then records "Hires resize" in place of "Hires upscale").</summary>
    public bool Resized { get; init; }
}
