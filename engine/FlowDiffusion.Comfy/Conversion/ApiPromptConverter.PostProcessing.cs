using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>ComfyUI's image post-processing: ImageBlend, ImageBlur and ImageSharpen.</summary>
public sealed partial class ApiPromptConverter
{
    private static readonly string[] BlendModes = ["normal", "multiply", "screen", "overlay", "soft_light", "difference"];

    // ImageBlend → image.blend.
    private ComfyValue[]? ImageBlend(string id, JsonObject inputs)
    {
        var first = Link<ImageValue>(id, inputs, "image1");
        var second = Link<ImageValue>(id, inputs, "image2");
        var factor = Number(id, inputs, "blend_factor", 0.5);
        var mode = Choice(id, inputs, "blend_mode", "normal", BlendModes);
        if (first is null || second is null || factor is null || mode is null || !Within(id, "blend_factor", factor.Value, 0, 1)) return null;
        var node = Add(id, null, "image.blend", [("image1", first.Image), ("image2", second.Image)], [("blend_factor", factor.Value), ("blend_mode", mode)]);
        return [new ImageValue($"{node}.blended")];
    }

    // ImageBlur → image.blur.
    private ComfyValue[]? ImageBlur(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var radius = Integer(id, inputs, "blur_radius", 1);
        var sigma = Number(id, inputs, "sigma", 1);
        if (image is null || radius is null || sigma is null || !Within(id, "blur_radius", radius.Value, 1, 31) | !Within(id, "sigma", sigma.Value, 0.1, 10)) return null;
        var node = Add(id, null, "image.blur", [("image", image.Image)], [("blur_radius", radius.Value), ("sigma", sigma.Value)]);
        return [new ImageValue($"{node}.blurred")];
    }

    // ImageSharpen → image.sharpen.
    private ComfyValue[]? ImageSharpen(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var radius = Integer(id, inputs, "sharpen_radius", 1);
        var sigma = Number(id, inputs, "sigma", 1);
        var alpha = Number(id, inputs, "alpha", 1);
        if (image is null || radius is null || sigma is null || alpha is null
            || !Within(id, "sharpen_radius", radius.Value, 1, 31) | !Within(id, "sigma", sigma.Value, 0.1, 10) | !Within(id, "alpha", alpha.Value, 0, 5))
            return null;
        var node = Add(id, null, "image.sharpen", [("image", image.Image)], [("sharpen_radius", radius.Value), ("sigma", sigma.Value), ("alpha", alpha.Value)]);
        return [new ImageValue($"{node}.sharpened")];
    }
}
