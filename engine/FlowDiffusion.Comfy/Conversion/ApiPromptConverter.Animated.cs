using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's SaveAnimatedWEBP and SaveAnimatedPNG (comfy_extras/nodes_images.py): the whole batch as one animated file in
/// the output folder, listed as ComfyUI lists it (<c>images</c>, and <c>animated: [true]</c>).
/// </summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>The classes whose UI output ComfyUI marks <c>animated</c>.</summary>
    internal static readonly HashSet<string> AnimatedClasses = ["SaveAnimatedWEBP", "SaveAnimatedPNG"];

    // SaveAnimatedWEBP (fps 0.01…1000, lossless, quality 0…100, method) and SaveAnimatedPNG (fps, compress_level 0…9)
    // → image.save_animated. WebP's method (libwebp's effort 0, 4 or 6) is read and checked but not applied: SkiaSharp's
    // encoder does not expose it (quality sets a lossless file's effort, as libwebp's own quality does).
    private ComfyValue[]? SaveAnimated(string id, JsonObject inputs, string format)
    {
        var images = Link<ImageValue>(id, inputs, "images");
        var prefix = Text(id, inputs, "filename_prefix", "ComfyUI");
        var fps = Number(id, inputs, "fps", 6);
        var webp = format == "webp";
        var lossless = webp ? Boolean(id, inputs, "lossless", true) : true;
        var quality = webp ? Integer(id, inputs, "quality", 80) : 80;
        var method = webp ? Choice(id, inputs, "method", "default", ["default", "fastest", "slowest"]) : "default";
        var level = webp ? 4 : Integer(id, inputs, "compress_level", 4);
        if (images is null || prefix is null || fps is null || lossless is null || quality is null || method is null || level is null
            || !Within(id, "fps", fps.Value, 0.01, 1000) | !Within(id, "quality", quality.Value, 0, 100) | !Within(id, "compress_level", level.Value, 0, 9))
            return null;
        Add(id, null, "image.save_animated", [("images", images.Image)],
            [("prefix", PlainName(prefix)), ("format", format), ("fps", fps.Value), ("lossless", lossless.Value), ("quality", quality.Value), ("compress_level", level.Value),
                ("metadata", ComfyMetadata())]);
        outputTypes[id] = "output";
        return [];
    }
}
