using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// img2img inpainting, A1111's mask fields (<c>StableDiffusionProcessingImg2Img</c> 1.10): the mask (white repaints) read
/// as A1111's <c>create_binary_mask</c> reads it, inverted (<c>inpainting_mask_invert</c>), blurred (<c>mask_blur</c>),
/// brought to the processing size with the image — whole (<c>resize_mode</c>'s geometry) or "only masked"
/// (<c>inpaint_full_res</c>: the mask's bounding box plus <c>inpaint_full_res_padding</c>, widened to the size's ratio) —
/// and the result pasted back over the original through the blurred mask, as A1111's overlay. Every fill but 1 (original)
/// first paints the masked pixels with <c>masking.fill</c>'s blurred colours; 2 and 3 then replace the masked latent by
/// noise or zeros.
/// </summary>
/// <param name="Mask">The mask, base64 (a data: URL prefix allowed).</param>
/// <param name="Blur">A1111's <c>mask_blur</c> (the same in x and y), in pixels.</param>
/// <param name="Invert">Repaint what the mask leaves black (<c>inpainting_mask_invert</c> 1).</param>
/// <param name="Fill">A1111's <c>inpainting_fill</c>: 0 fill, 1 original, 2 latent noise, 3 latent nothing.</param>
/// <param name="OnlyMasked">"Only masked" (<c>inpaint_full_res</c>): the masked region is cut out, processed at the size, and pasted back.</param>
/// <param name="Padding">The pixels added around the mask's bounding box for "only masked".</param>
/// <param name="Round">A1111's <c>mask_round</c>: the latent mask (and an alpha mask) rounded to 0 or 1.</param>
public sealed record A1111Inpainting(string Mask, int Blur, bool Invert, int Fill, bool OnlyMasked, int Padding, bool Round)
{
    /// <summary>The largest mask blur: A1111's kernel radius int(2.5 · blur + 0.5) within ImageBlur's 31.</summary>
    public const int MaxBlur = 12;

    /// <summary>The kernel radius A1111's <c>cv2.GaussianBlur</c> takes for a blur (its kernel is 2 · radius + 1 wide).</summary>
    public static int KernelRadius(int blur) => (int)(2.5 * blur + 0.5);

    /// <summary>A1111's <c>Masked content</c> infotext of the fill; null for 1 (original), which adds none.</summary>
    public string? MaskedContent => Fill switch { 0 => "fill", 2 => "latent noise", 3 => "latent nothing", _ => null };

    /// <summary>Reads the mask fields of an img2img request; null without a mask (the fields are then ignored, as A1111 ignores them).</summary>
    internal static A1111Inpainting? Parse(JsonObject json, JsonObject parameters, Func<string, long, long, long, long> integer, Func<string, double, double, double, double> number)
    {
        if (json["mask"] is not { } node || node.GetValueKind() == JsonValueKind.Null) return null;
        var mask = node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>()
            : throw new A1111RequestException(422, "mask", "must be a base64 image (white: repaint), as init_images");
        if (mask.Length == 0) return null;

        // mask_blur, when sent, sets both directions (A1111's setter); else mask_blur_x and mask_blur_y, 4 each.
        var named = json["mask_blur"] is { } blurNode && blurNode.GetValueKind() != JsonValueKind.Null;
        var blurX = (int)integer(named ? "mask_blur" : "mask_blur_x", 4, 0, 64);
        var blurY = named ? blurX : (int)integer("mask_blur_y", 4, 0, 64);
        if (blurX != blurY)
            throw new A1111RequestException(422, "mask_blur_x", $"{blurX} differs from mask_blur_y {blurY}: FlowDiffusion blurs the mask with one round gaussian (ComfyUI's ImageBlur); send mask_blur");
        if (blurX > MaxBlur)
            throw new A1111RequestException(422, named ? "mask_blur" : "mask_blur_x", $"{blurX}: at most {MaxBlur} (A1111's kernel radius int(2.5 × blur + 0.5) must stay within ImageBlur's 31)");
        var invert = Switch(json, parameters, "inpainting_mask_invert", false);
        var fill = (int)integer("inpainting_fill", 0, 0, 3);
        var onlyMasked = Switch(json, parameters, "inpaint_full_res", true);
        var padding = (int)integer("inpaint_full_res_padding", 0, 0, A1111Request.MaxSize);
        var round = Switch(json, parameters, "mask_round", true);
        if (number("initial_noise_multiplier", 1, 0, 10) != 1)
            throw new A1111RequestException(422, "initial_noise_multiplier", "only 1: ComfyUI's samplers start from unscaled noise");
        return new A1111Inpainting(mask, blurX, invert, fill, onlyMasked, padding, round);
    }

    /// <summary>
    /// The mask as A1111's <c>create_binary_mask</c> reads it, one byte a pixel: an image with transparent pixels gives its
    /// alpha (rounded to 0 or 255 above 128 when <paramref name="round"/>), any other its luma (Pillow's L conversion).
    /// </summary>
    public static byte[] Luma(ReadOnlySpan<byte> rgba, int width, int height, bool round)
    {
        var pixels = width * height;
        var alpha = false;
        for (var i = 0; i < pixels && !alpha; i++) alpha = rgba[4 * i + 3] != 255;
        var mask = new byte[pixels];
        for (var i = 0; i < pixels; i++)
        {
            mask[i] = alpha
                ? round ? (byte)(rgba[4 * i + 3] > 128 ? 255 : 0) : rgba[4 * i + 3]
                : (byte)((rgba[4 * i] * 19595 + rgba[4 * i + 1] * 38470 + rgba[4 * i + 2] * 7471 + 0x8000) >> 16);
        }

        return mask;
    }

    /// <summary>
    /// "Only masked"'s region (x1, y1, x2, y2, ends excluded) in the mask's pixels: the bounding box of what the inverted,
    /// blurred mask leaves above 0 (A1111's <c>get_crop_region_v2</c>, the blur as <c>cv2.GaussianBlur</c> on 8-bit values,
    /// x then y), <paramref name="padding"/> added and cut at the edges, then widened (or heightened) to the processing
    /// size's ratio (<c>expand_crop_region</c>); null for a mask that leaves nothing, which A1111 runs as plain img2img.
    /// </summary>
    public static (int X1, int Y1, int X2, int Y2)? Region(byte[] mask, int width, int height, bool invert, int blur, int padding, int targetWidth, int targetHeight)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var values = mask.Select(v => (byte)(invert ? 255 - v : v)).ToArray();
        if (blur > 0)
        {
            values = GaussianPass(values, width, height, blur, horizontal: true);
            values = GaussianPass(values, width, height, blur, horizontal: false);
        }

        int x1 = width, y1 = height, x2 = -1, y2 = -1;
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            if (values[y * width + x] == 0) continue;
            (x1, y1, x2, y2) = (Math.Min(x1, x), Math.Min(y1, y), Math.Max(x2, x + 1), Math.Max(y2, y + 1));
        }

        if (x2 < 0) return null;
        if (padding > 0) (x1, y1, x2, y2) = (Math.Max(x1 - padding, 0), Math.Max(y1 - padding, 0), Math.Min(x2 + padding, width), Math.Min(y2 + padding, height));

        // expand_crop_region: grow the short side around its centre to the processing ratio, shifted back inside.
        var ratio = (double)targetWidth / targetHeight;
        if ((double)(x2 - x1) / (y2 - y1) > ratio)
        {
            var diff = (int)((x2 - x1) / ratio - (y2 - y1));
            (y1, y2) = Grow(y1, y2, diff, height);
        }
        else
        {
            var diff = (int)((y2 - y1) * ratio - (x2 - x1));
            (x1, x2) = Grow(x1, x2, diff, width);
        }

        return (x1, y1, x2, y2);
    }

    private static (int, int) Grow(int low, int high, int diff, int size)
    {
        low -= diff / 2;
        high += diff - diff / 2;
        if (high >= size) (low, high) = (low - (high - size), size);
        if (low < 0) (low, high) = (0, high - low);
        return (low, Math.Min(high, size));
    }

    // One pass of cv2.GaussianBlur on 8-bit values: the kernel exp(−i²/2σ²) over |i| ≤ int(2.5σ + 0.5), normalised; edges
    // reflected without repeating the edge pixel (BORDER_REFLECT_101); rounded back to 8 bits.
    private static byte[] GaussianPass(byte[] values, int width, int height, int sigma, bool horizontal)
    {
        var radius = KernelRadius(sigma);
        var kernel = Enumerable.Range(-radius, 2 * radius + 1).Select(i => Math.Exp(-i * i / (2.0 * sigma * sigma))).ToArray();
        var sum = kernel.Sum();
        var length = horizontal ? width : height;
        var result = new byte[values.Length];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var at = horizontal ? x : y;
            double total = 0;
            for (var k = -radius; k <= radius; k++)
            {
                var j = Reflect(at + k, length);
                total += kernel[k + radius] * values[horizontal ? y * width + j : j * width + x];
            }

            result[y * width + x] = (byte)Math.Clamp(Math.Round(total / sum, MidpointRounding.ToEven), 0, 255);
        }

        return result;
    }

    private static int Reflect(int i, int length)
    {
        if (length == 1) return 0;
        while (i < 0 || i >= length) i = i < 0 ? -i : 2 * (length - 1) - i;
        return i;
    }

    // A1111 reads these as Python ints or bools: true/false, 0/1, or null for the default.
    private static bool Switch(JsonObject json, JsonObject parameters, string field, bool fallback)
    {
        var node = json[field];
        if (node is null)
        {
            parameters[field] = fallback;
            return fallback;
        }

        return node.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null => fallback,
            _ => JsonNumbers.Integer(node) switch
            {
                0 => false,
                1 => true,
                _ => throw new A1111RequestException(422, field, $"must be true or false (or 0 or 1), not {node.ToJsonString()}"),
            },
        };
    }
}
