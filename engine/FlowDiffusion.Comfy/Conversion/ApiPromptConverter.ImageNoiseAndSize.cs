using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Imaging;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's ImageAddNoise (image.add_noise, the same torch noise), ImageScaleToMaxDimension (image.resize's
/// largest_size) and GetImageSize. FlowDiffusion's nodes have no run-time INT outputs — ComfyUI's INT widgets are
/// settled when the prompt is converted — so GetImageSize is mapped only where the size is known then: an image straight
/// from LoadImage, whose file's header gives it (LoadImage's batch is one image here).
/// </summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>ImageScaleToMaxDimension's upscale_method choices as ComfyUI lists them (bilinear twice).</summary>
    internal static readonly string[] MaxDimensionMethods = ["area", "lanczos", "bilinear", "nearest-exact", "bilinear", "bicubic"];

    // ImageAddNoise → image.add_noise with the seed and strength. A JoinImageWithAlpha image would be 4 channels in
    // ComfyUI, its noise drawn in another order and added to the alpha too: a node error here.
    private ComfyValue[]? ImageAddNoise(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image", keepsAlpha: true);
        var seed = Seed(id, inputs, "seed");
        var strength = Number(id, inputs, "strength", 0.5);
        if (image is null || seed is null || strength is null || !Within(id, "strength", strength.Value, 0, 1)) return null;
        if (image.Alpha is not null)
        {
            Error(id, "value_not_supported", "Value not supported",
                "image: an image with an alpha channel (JoinImageWithAlpha) gets noise in all four channels in ComfyUI; FlowDiffusion's images are RGB. Add the noise before JoinImageWithAlpha", "image");
            return null;
        }

        var node = Add(id, null, "image.add_noise", [("image", image.Image)], [("seed", SeedLiteral(seed.Value)), ("strength", strength.Value)]);
        return [new ImageValue($"{node}.noisy")];
    }

    // ImageScaleToMaxDimension → image.resize with largest_size: the longer side becomes it, the other keeps the aspect
    // ratio (rounded half to even). ComfyUI fails at run time on largest_size 0 (an empty image); here it is a node error.
    private ComfyValue[]? ScaleToMaxDimension(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var method = Choice(id, inputs, "upscale_method", "area", MaxDimensionMethods);
        var largest = Integer(id, inputs, "largest_size", 512);
        if (image is null || method is null || largest is null || !Within(id, "largest_size", largest.Value, 0, 16384)) return null;
        if (largest == 0)
        {
            Error(id, "value_not_supported", "Value not supported", "largest_size: 0 would make an empty image (ComfyUI fails on it when it runs); use 1 or more", "largest_size");
            return null;
        }

        var node = Add(id, null, "image.resize", [("image", image.Image)], [("largest_size", largest.Value), ("method", method)]);
        return [new ImageValue($"{node}.resized")];
    }

    // GetImageSize → its width, height and batch size as constants, for an image straight from LoadImage.
    private ComfyValue[]? GetImageSize(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        if (image is null) return null;
        var link = (JsonArray)inputs["image"]!;
        var sourceId = link[0] is JsonValue s && s.GetValueKind() == JsonValueKind.String ? s.GetValue<string>() : link[0]!.ToJsonString();
        var source = (JsonObject)prompt[sourceId]!;
        if (source["class_type"]?.GetValue<string>() is not ("LoadImage" or "LoadImageOutput"))
        {
            Error(id, "value_not_supported", "Value not supported",
                $"image: FlowDiffusion settles INT inputs when the prompt is converted, so GetImageSize needs an image whose size is known then — one straight from LoadImage; this one comes from {classTypes.GetValueOrDefault(sourceId)} and has its size only when the workflow runs",
                "image");
            return null;
        }

        // Only an uploaded file, inside the input folder, is read (an imported prompt's missing file is not looked for elsewhere).
        var name = Text(sourceId, source["inputs"] as JsonObject ?? [], "image", null);
        if (name is null) return null;
        var file = folders.ResolveAnnotated(name);
        if (file is null)
        {
            Error(id, "value_not_supported", "Value not supported", $"image: GetImageSize reads the size from LoadImage's file, and '{name}' is not uploaded here", "image");
            return null;
        }

        ImageHeaderInfo header;
        try
        {
            header = ImageFile.Read(file, Path.GetFileName(file), ImageLimits.Default).Header;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            Error(id, "value_not_supported", "Value not supported", $"image: GetImageSize reads the size from LoadImage's file, which failed: {e.Message}", "image");
            return null;
        }

        return [new ConstantValue("INT", JsonValue.Create(header.Width)), new ConstantValue("INT", JsonValue.Create(header.Height)), new ConstantValue("INT", JsonValue.Create(1L))];
    }
}
