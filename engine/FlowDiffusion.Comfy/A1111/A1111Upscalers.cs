using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// A1111's image upscalers (<c>shared.sd_upscalers</c>): None, Lanczos, Nearest and each model of
/// <c>models/upscale_models</c>, and the ComfyUI nodes that upscale an image the way A1111's <c>Upscaler.upscale</c> and
/// <c>images.resize_image</c> do (the extras tab and the hires fix with an image upscaler).
/// </summary>
public static class A1111Upscalers
{
    /// <summary>The upscalers that need no model file, in A1111's order.</summary>
    public static IReadOnlyList<string> BuiltIn { get; } = ["None", "Lanczos", "Nearest"];

    /// <summary>
    /// A1111's list: None, Lanczos, Nearest, then the models sorted by name without regard to case. A model's name is its
    /// file name without extension, as A1111 names the files of its ESRGAN folder.
    /// </summary>
    public static IReadOnlyList<A1111Upscaler> List(ComfyFolders folders)
    {
        ArgumentNullException.ThrowIfNull(folders);
        var models = ObjectInfo.UpscaleModels(folders)
            .Select(f => new A1111Upscaler(Path.GetFileNameWithoutExtension(f), f))
            .OrderBy(u => u.Name.ToLowerInvariant(), StringComparer.Ordinal);
        return [.. BuiltIn.Select(n => new A1111Upscaler(n, null)), .. models];
    }

    /// <summary>The upscaler A1111 calls <paramref name="name"/> (its exact name, as A1111 matches it); throws 404 naming <paramref name="field"/>.</summary>
    public static A1111Upscaler Resolve(ComfyFolders folders, string name, string field)
    {
        var all = List(folders);
        return all.FirstOrDefault(u => u.Name == name)
               ?? throw new A1111RequestException(404, field, $"'{name}': no such upscaler; use one of {string.Join(", ", all.Select(u => $"'{u.Name}'"))} (GET /sdapi/v1/upscalers)");
    }

    /// <summary>The <c>/sdapi/v1/upscalers</c> entry (A1111 lists scale 4 and model_name ESRGAN_4x for every file of its ESRGAN folder).</summary>
    public static JsonObject Entry(A1111Upscaler upscaler)
    {
        ArgumentNullException.ThrowIfNull(upscaler);
        return new JsonObject
        {
            ["name"] = upscaler.Name,
            ["model_name"] = upscaler.ModelFile is null ? null : "ESRGAN_4x",
            ["model_path"] = upscaler.ModelFile is null ? null : "models/upscale_models/" + upscaler.ModelFile,
            ["model_url"] = null,
            ["scale"] = 4,
        };
    }

    /// <summary>
    /// Adds the nodes of A1111's <c>Upscaler.upscale(image, scale)</c>: the target is each side × scale rounded down to a
    /// multiple of 8; Lanczos and Nearest resize to int(side × scale), a model runs once, then Lanczos resizes to the
    /// target where the size differs. Returns the upscaled image and its size.
    /// </summary>
    /// <param name="prompt">The prompt the nodes are added to.</param>
    /// <param name="id">The id of the first node added; the others append <c>_model</c>, <c>_resize</c>.</param>
    /// <param name="image">The link of the image.</param>
    /// <param name="width">The image's width.</param>
    /// <param name="height">The image's height.</param>
    /// <param name="scale">A1111's scale.</param>
    /// <param name="upscaler">Not None.</param>
    public static (JsonArray Image, int Width, int Height) Upscale(JsonObject prompt, string id, JsonArray image, int width, int height, double scale, A1111Upscaler upscaler)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(upscaler);
        // Python's int((side × scale) // 8 * 8): floor division by a power of two is exact.
        var targetWidth = (int)(Math.Floor(width * scale / 8) * 8);
        var targetHeight = (int)(Math.Floor(height * scale / 8) * 8);
        switch (upscaler.Name)
        {
            case "None":
                break;
            case "Lanczos" or "Nearest" when upscaler.ModelFile is null:
                (width, height) = ((int)(width * scale), (int)(height * scale));
                prompt[id] = Scale(image, upscaler.Name == "Lanczos" ? "lanczos" : "nearest-exact", width, height);
                image = [id, 0];
                break;
            default:
                // A1111 runs a model again while the image is still smaller than the target (up to 3 times); one pass here
                // (the model's scale is known only when it is loaded), and Lanczos makes up the rest.
                prompt[id + "_model"] = Node("UpscaleModelLoader", new JsonObject { ["model_name"] = upscaler.ModelFile ?? upscaler.Name });
                prompt[id] = Node("ImageUpscaleWithModel", new JsonObject { ["upscale_model"] = new JsonArray(id + "_model", 0), ["image"] = image.DeepClone() });
                image = [id, 0];
                width = height = -1;
                break;
        }

        if (width != targetWidth || height != targetHeight)
        {
            prompt[id + "_resize"] = Scale(image, "lanczos", targetWidth, targetHeight);
            image = [id + "_resize", 0];
        }

        return (image, targetWidth, targetHeight);
    }

    /// <summary>
    /// Adds the nodes of A1111's <c>images.resize_image</c> in mode 0 (just resize) with an upscaler, as the hires fix calls
    /// it: None resizes with Lanczos; any other upscales by the larger of the two ratios when that is over 1, then Lanczos
    /// resizes to the size where it differs.
    /// </summary>
    /// <param name="prompt">The prompt the nodes are added to.</param>
    /// <param name="id">The id the nodes' ids start with.</param>
    /// <param name="image">The link of the image.</param>
    /// <param name="width">The image's width.</param>
    /// <param name="height">The image's height.</param>
    /// <param name="toWidth">The width wanted.</param>
    /// <param name="toHeight">The height wanted.</param>
    /// <param name="upscaler">The upscaler.</param>
    public static JsonArray Resize(JsonObject prompt, string id, JsonArray image, int width, int height, int toWidth, int toHeight, A1111Upscaler upscaler)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(upscaler);
        var scale = Math.Max(toWidth / (double)width, toHeight / (double)height);
        if (upscaler.Name != "None" && scale > 1) (image, width, height) = Upscale(prompt, id, image, width, height, scale, upscaler);
        if (width == toWidth && height == toHeight) return image;
        prompt[id + "_fit"] = Scale(image, "lanczos", toWidth, toHeight);
        return [id + "_fit", 0];
    }

    private static JsonObject Scale(JsonArray image, string method, int width, int height) => Node("ImageScale", new JsonObject
    {
        ["image"] = image.DeepClone(), ["upscale_method"] = method, ["width"] = width, ["height"] = height, ["crop"] = "disabled",
    });

    private static JsonObject Node(string classType, JsonObject inputs) => new() { ["class_type"] = classType, ["inputs"] = inputs };
}
