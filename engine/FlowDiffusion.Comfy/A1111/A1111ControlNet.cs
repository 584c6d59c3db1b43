using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// The sd-webui-controlnet extension's units as ComfyUI nodes in an A1111 request's prompt. Per unit: LoadImage of its
/// image → ImageScale to the preprocessor's resolution (short side, for preprocessors that scale) → the preprocessor →
/// ImageScale / ResizeAndPadImage to the target size by the resize mode → ControlNetLoader + ControlNetApplyAdvanced
/// (strength = weight, start/end percent = guidance start/end) on the positive and negative; units chain in order, as
/// the extension stacks them, and every sampler takes the last one's conditionings.
/// </summary>
public static class A1111ControlNet
{
    /// <summary>The id prefix of unit <paramref name="index"/>'s nodes.</summary>
    public static string Prefix(int index) => $"cn_{index}";

    /// <summary>The id of unit <paramref name="index"/>'s control image output (the detected map the answer appends).</summary>
    public static string MapId(int index) => $"{Prefix(index)}_map";

    /// <summary>
    /// A unit ready to build: its control image as a LoadImage name and size, the ControlNet file, and the resize mode it
    /// runs with (img2img's own, Just Resize, when the unit takes the init image).
    /// </summary>
    public sealed record Input(A1111ControlNetUnit Unit, string ImageName, int ImageWidth, int ImageHeight, string ModelFile, string ResizeMode);

    /// <summary>The ControlNet file a unit's model names (<c>name [hash]</c>, or the name alone), or throws 404 naming the field.</summary>
    public static string ResolveModel(ComfyFolders folders, A1111ControlNetUnit unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        var bare = Bare(unit.Model);
        var files = ObjectInfo.Files(folders, "controlnet");
        // The extension keys its models by the file name without extension, lower-cased.
        return files.FirstOrDefault(f => string.Equals(Path.GetFileNameWithoutExtension(f), bare, StringComparison.OrdinalIgnoreCase) && A1111ControlNetModels.IsModel(f))
               ?? throw new A1111RequestException(404, $"{unit.Field}.model",
                   $"'{unit.Model}' is not a ControlNet in models/controlnet; use one of {string.Join(", ", A1111ControlNetModels.List(folders).Select(m => $"'{m}'"))} (GET /controlnet/model_list)");
    }

    /// <summary>A model name without its trailing " [hash]".</summary>
    public static string Bare(string model) =>
        model.EndsWith(']') && model.LastIndexOf(" [", StringComparison.Ordinal) is > 0 and var at ? model[..at] : model;

    /// <summary>The preprocessor resolution of a unit for its image: pixel perfect's estimate, else the unit's.</summary>
    public static int Resolution(A1111ControlNetUnit unit, string resizeMode, int imageWidth, int imageHeight, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(unit);
        if (!unit.PixelPerfect) return Math.Max(1, (int)unit.ProcessorRes);
        // The extension's estimate: the short side the image has once scaled to cover (fit, for Resize and Fill) the target.
        double k0 = (double)height / imageHeight, k1 = (double)width / imageWidth;
        var k = resizeMode == "Resize and Fill" ? Math.Min(k0, k1) : Math.Max(k0, k1);
        return Math.Max(1, (int)Math.Round(k * Math.Min(imageWidth, imageHeight)));
    }

    /// <summary>Adds a preprocessor's nodes for an image of the given size; returns the result's link and size.</summary>
    public static (JsonArray Image, int Width, int Height) Preprocess(A1111ControlNetNodes nodes, A1111ControlNetModule module, JsonArray image,
        int imageWidth, int imageHeight, int resolution, double thresholdA, double thresholdB, string field)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(module);
        (int Width, int Height) size = (imageWidth, imageHeight);
        if (module.ScalesToResolution)
        {
            // resize_image_with_pad: the short side to the resolution (numpy's round, half to even), cubic up, area down.
            var k = (double)resolution / Math.Min(imageWidth, imageHeight);
            (int Width, int Height) target = ((int)Math.Round(imageWidth * k), (int)Math.Round(imageHeight * k));
            if (target.Width > 4 * A1111Request.MaxSize || target.Height > 4 * A1111Request.MaxSize || target.Width < 1 || target.Height < 1)
                throw new A1111RequestException(422, field, $"scaled to the preprocessor resolution {resolution} the image would be {target.Width}×{target.Height}; crop it closer to the target's shape");
            if (target != size && !module.ScalesItself) image = nodes.Scale("scale", image, size, target);
            size = target;
        }

        return (module.Run(nodes, image, resolution, thresholdA, thresholdB), size.Width, size.Height);
    }

    /// <summary>Adds the units to <paramref name="prompt"/> and points every sampler's conditionings at the last unit's.</summary>
    public static void AddTo(JsonObject prompt, IReadOnlyList<Input> units, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(units);
        if (units.Count == 0) return;
        var samplers = prompt.Select(p => p.Value).Where(n => n?["class_type"]?.GetValue<string>() is "KSampler" or "KSamplerAdvanced")
            .Select(n => (JsonObject)n!["inputs"]!).ToList();
        if (samplers.Count == 0) return;

        // The units wrap the conditioning the samplers take (the prompts', or InpaintModelConditioning's with a mask), as the
        // extension's hook sees it; every sampler of a request takes the same pair.
        var positive = (JsonArray)samplers[0]["positive"]!.DeepClone();
        var negative = (JsonArray)samplers[0]["negative"]!.DeepClone();
        if (samplers.Any(s => !JsonNode.DeepEquals(s["positive"], positive) || !JsonNode.DeepEquals(s["negative"], negative)))
            throw new InvalidOperationException("the samplers of one A1111 request take different conditionings");
        for (var i = 0; i < units.Count; i++)
        {
            var (unit, name, imageWidth, imageHeight, file, resizeMode) = units[i];
            var nodes = new A1111ControlNetNodes(prompt, Prefix(i));
            var loaded = nodes.Add("image", "LoadImage", new JsonObject { ["image"] = name });
            var resolution = Resolution(unit, resizeMode, imageWidth, imageHeight, width, height);
            var (map, w, h) = Preprocess(nodes, unit.Module, loaded, imageWidth, imageHeight, resolution, unit.ThresholdA, unit.ThresholdB, unit.Field + ".image");
            map = Fit(nodes, map, (w, h), (width, height), resizeMode);
            if (unit.SaveDetectedMap) prompt[MapId(i)] = new JsonObject { ["class_type"] = "PreviewImage", ["inputs"] = new JsonObject { ["images"] = map.DeepClone() } };
            var net = nodes.Add("model", "ControlNetLoader", new JsonObject { ["control_net_name"] = file });
            var apply = nodes.Add("apply", "ControlNetApplyAdvanced", new JsonObject
            {
                ["positive"] = positive, ["negative"] = negative, ["control_net"] = net, ["image"] = map,
                ["strength"] = unit.Weight, ["start_percent"] = unit.GuidanceStart, ["end_percent"] = unit.GuidanceEnd,
            });
            positive = [apply[0]!.GetValue<string>(), 0];
            negative = [apply[0]!.GetValue<string>(), 1];
        }

        foreach (var inputs in samplers)
        {
            inputs["positive"] = positive.DeepClone();
            inputs["negative"] = negative.DeepClone();
        }
    }

    /// <summary>The A1111 field a ComfyUI node of a unit stands for (<c>cn_1_apply</c> → <c>alwayson_scripts.controlnet.args[…]</c>), or null.</summary>
    public static string? FieldFor(string comfyId, IReadOnlyList<A1111ControlNetUnit> units)
    {
        ArgumentNullException.ThrowIfNull(comfyId);
        ArgumentNullException.ThrowIfNull(units);
        if (!comfyId.StartsWith("cn_", StringComparison.Ordinal)) return null;
        var end = comfyId.IndexOf('_', 3);
        return int.TryParse(comfyId.AsSpan(3, (end < 0 ? comfyId.Length : end) - 3), out var i) && i >= 0 && i < units.Count ? units[i].Field : "alwayson_scripts";
    }

    // The detected map to the target size, as the extension's resize modes place it.
    private static JsonArray Fit(A1111ControlNetNodes nodes, JsonArray map, (int Width, int Height) size, (int Width, int Height) target, string resizeMode)
    {
        if (size == target) return map;
        double k0 = (double)target.Height / size.Height, k1 = (double)target.Width / size.Width;
        switch (resizeMode)
        {
            case "Just Resize":
                return nodes.Scale("fit", map, size, target);
            case "Resize and Fill":
            {
                // Scaled to fit inside and padded: the extension pads with the border's median colour, ResizeAndPadImage with black.
                var k = Math.Min(k0, k1);
                (int, int) fit = ((int)Math.Round(size.Width * k), (int)Math.Round(size.Height * k));
                return nodes.Add("fit", "ResizeAndPadImage", new JsonObject
                {
                    ["image"] = map, ["target_width"] = target.Width, ["target_height"] = target.Height, ["padding_color"] = "black",
                    ["interpolation"] = A1111ControlNetNodes.Method(size, fit),
                });
            }

            default:
            {
                // Crop and Resize: scaled to cover, the middle kept (ComfyUI's center crop cuts the source to the shape first).
                var k = Math.Max(k0, k1);
                (int, int) cover = ((int)Math.Round(size.Width * k), (int)Math.Round(size.Height * k));
                return nodes.Add("fit", "ImageScale", new JsonObject
                {
                    ["image"] = map, ["upscale_method"] = A1111ControlNetNodes.Method(size, cover), ["width"] = target.Width, ["height"] = target.Height, ["crop"] = "center",
                });
            }
        }
    }
}
