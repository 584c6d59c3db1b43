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
    /// The sizes after each pass of A1111's <c>Upscaler.upscale</c> loop for a model of known scale: it runs again while the
    /// image is smaller than the target (each side × scale rounded down to a multiple of 8) on either side, at most 3
    /// times, and stops after a pass that leaves the size as it was. One unknown size for a model not measured; empty for
    /// the built-in upscalers (one resize, which always reaches the target).
    /// </summary>
    public static IReadOnlyList<(long Width, long Height)> Passes(int width, int height, double scale, A1111Upscaler upscaler)
    {
        ArgumentNullException.ThrowIfNull(upscaler);
        if (upscaler.ModelFile is null && BuiltIn.Contains(upscaler.Name)) return [];
        if (upscaler.ModelScale is not { } factor) return [(-1, -1)];
        var (targetWidth, targetHeight) = Target(width, height, scale);
        var sizes = new List<(long Width, long Height)>();
        long w = width, h = height;
        for (var pass = 0; pass < 3; pass++)
        {
            var before = (w, h);
            (w, h) = (w * factor, h * factor);
            sizes.Add((w, h));
            if (before == (w, h) || (w >= targetWidth && h >= targetHeight)) break;
        }

        return sizes;
    }

    /// <summary>
    /// Adds the nodes of A1111's <c>Upscaler.upscale(image, scale)</c>: the target is each side × scale rounded down to a
    /// multiple of 8; Lanczos and Nearest resize to int(side × scale), a model runs once per pass of
    /// <see cref="Passes"/>, then Lanczos resizes to the target where the size differs. Returns the upscaled image and its
    /// size.
    /// </summary>
    /// <param name="prompt">The prompt the nodes are added to.</param>
    /// <param name="id">The id of the first node added; the others append <c>_model</c>, <c>_pass2</c>, <c>_pass3</c>, <c>_resize</c>.</param>
    /// <param name="image">The link of the image.</param>
    /// <param name="width">The image's width.</param>
    /// <param name="height">The image's height.</param>
    /// <param name="scale">A1111's scale.</param>
    /// <param name="upscaler">Not None.</param>
    public static (JsonArray Image, int Width, int Height) Upscale(JsonObject prompt, string id, JsonArray image, int width, int height, double scale, A1111Upscaler upscaler)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(upscaler);
        var (targetWidth, targetHeight) = Target(width, height, scale);
        switch (upscaler.Name)
        {
            case "None":
                break;
            case "Lanczos" or "Nearest" when upscaler.ModelFile is null:
                // One resize by the scale always reaches the target, so A1111's loop stops after it.
                (width, height) = ((int)(width * scale), (int)(height * scale));
                prompt[id] = Scale(image, upscaler.Name == "Lanczos" ? "lanczos" : "nearest-exact", width, height);
                image = [id, 0];
                break;
            default:
                prompt[id + "_model"] = Node("UpscaleModelLoader", new JsonObject { ["model_name"] = upscaler.ModelFile ?? upscaler.Name });
                var passes = Passes(width, height, scale, upscaler);
                for (var pass = 0; pass < passes.Count; pass++)
                {
                    var node = pass == 0 ? id : $"{id}_pass{pass + 1}";
                    prompt[node] = Node("ImageUpscaleWithModel", new JsonObject { ["upscale_model"] = new JsonArray(id + "_model", 0), ["image"] = image.DeepClone() });
                    image = [node, 0];
                }

                // A model not measured runs once, and its size is not known here: Lanczos always brings it to the target.
                (width, height) = ((int)passes[^1].Width, (int)passes[^1].Height);
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

    // Python's int((side × scale) // 8 * 8): floor division by a power of two is exact.
    private static (int Width, int Height) Target(int width, int height, double scale) =>
        ((int)(Math.Floor(width * scale / 8) * 8), (int)(Math.Floor(height * scale / 8) * 8));

    private static JsonObject Scale(JsonArray image, string method, int width, int height) => Node("ImageScale", new JsonObject
    {
        ["image"] = image.DeepClone(), ["upscale_method"] = method, ["width"] = width, ["height"] = height, ["crop"] = "disabled",
    });

    private static JsonObject Node(string classType, JsonObject inputs) => new() { ["class_type"] = classType, ["inputs"] = inputs };
}
