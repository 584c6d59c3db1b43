using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// The sd-webui-controlnet extension's units as ComfyUI nodes in an A1111 request's prompt. Per unit: LoadImage of its
/// image → ImageScale to the preprocessor's resolution (short side, for preprocessors that scale) → the preprocessor →
/// ImageScale / ResizeAndPadImage to the target size by the resize mode → ControlNetLoader + ControlNetApplyAdvanced
/// (strength = weight, start/end percent = guidance start/end) on the positive and negative (soft weights by the control
/// mode: <see cref="Apply"/>); units chain in order, as
/// the extension stacks them, and every sampler takes the last one's conditionings.
/// </summary>
public static class A1111ControlNet
{
    /// <summary>The id prefix of unit <paramref name="index"/>'s nodes.</summary>
    public static string Prefix(int index) => $"cn_{index}";

    /// <summary>
    /// The extension's set_numpy_seed for a generation of <paramref name="seed"/>: (seed + subseed) mod 2³², where a subseed
    /// of −1 (the only one here: requests' subseeds are not read) is the first image's seed.
    /// </summary>
    public static uint NumpySeed(long seed) => unchecked((uint)(seed + seed));

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

        var result = module.Run(nodes, image, resolution, thresholdA, thresholdB);
        return module.Resample?.Invoke(nodes, result, size, thresholdA) ?? (result, size.Width, size.Height);
    }

    /// <summary>The id of unit <paramref name="index"/>'s control image at the hires size (the extension's first detected map with the hires fix).</summary>
    public static string HiresMapId(int index) => $"{Prefix(index)}_hr_map";

    /// <summary>
    /// Adds the units to <paramref name="prompt"/> and points every sampler's conditionings at the last unit's. With the hires
    /// fix (<paramref name="hires"/>, its size) the second pass's samplers (<c>hires_*</c>) take a chain of their own, as the
    /// extension's hook switches to its hires control: each unit's one detected map fitted to the hires size by the unit's
    /// resize mode (not preprocessed again), canny's units in soft injection there (the extension forces it for canny and
    /// mlsd), and <c>hr_option</c> leaving a unit out of one pass. <paramref name="numpySeed"/> is the seed the extension gives
    /// numpy before each unit's preprocessor (<see cref="NumpySeed"/>).
    /// </summary>
    public static void AddTo(JsonObject prompt, IReadOnlyList<Input> units, int width, int height, (int Width, int Height)? hires = null, uint? numpySeed = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(units);
        if (units.Count == 0) return;
        var samplers = prompt.Where(p => p.Value?["class_type"]?.GetValue<string>() is "KSampler" or "KSamplerAdvanced")
            .Select(p => (Id: p.Key, Inputs: (JsonObject)p.Value!["inputs"]!)).ToList();
        if (samplers.Count == 0) return;

        // The units wrap the conditioning the samplers take (the prompts', or InpaintModelConditioning's with a mask), as the
        // extension's hook sees it; every sampler of a request takes the same pair.
        var basePositive = (JsonArray)samplers[0].Inputs["positive"]!.DeepClone();
        var baseNegative = (JsonArray)samplers[0].Inputs["negative"]!.DeepClone();
        if (samplers.Any(s => !JsonNode.DeepEquals(s.Inputs["positive"], basePositive) || !JsonNode.DeepEquals(s.Inputs["negative"], baseNegative)))
            throw new InvalidOperationException("the samplers of one A1111 request take different conditionings");
        var (positive, negative) = (basePositive, baseNegative);
        var (hiresPositive, hiresNegative) = (basePositive, baseNegative);
        for (var i = 0; i < units.Count; i++)
        {
            var (unit, name, imageWidth, imageHeight, file, resizeMode) = units[i];
            var nodes = new A1111ControlNetNodes(prompt, Prefix(i)) { NumpySeed = numpySeed };
            var loaded = nodes.Add("image", "LoadImage", new JsonObject { ["image"] = name });
            var resolution = Resolution(unit, resizeMode, imageWidth, imageHeight, width, height);
            var (detected, w, h) = Preprocess(nodes, unit.Module, loaded, imageWidth, imageHeight, resolution, unit.ThresholdA, unit.ThresholdB, unit.Field + ".image");
            var net = nodes.Add("model", "ControlNetLoader", new JsonObject { ["control_net_name"] = file });
            if (hires is { } size)
            {
                var hiresMap = Fit(nodes, "hr_fit", detected, (w, h), size, resizeMode);
                if (unit.SaveDetectedMap) prompt[HiresMapId(i)] = new JsonObject { ["class_type"] = "PreviewImage", ["inputs"] = new JsonObject { ["images"] = hiresMap.DeepClone() } };
                if (unit.HiresOption != A1111ControlNetUnit.HiresOptions[1])
                {
                    var mode = unit.ControlMode == A1111ControlNetUnit.ControlModes[0] && unit.Module.Name.Contains("canny", StringComparison.Ordinal)
                        ? A1111ControlNetUnit.ControlModes[1] : unit.ControlMode;
                    var hiresApply = Apply(nodes, "hr_apply", unit, mode, hiresPositive, hiresNegative, net, hiresMap);
                    (hiresPositive, hiresNegative) = ([hiresApply[0]!.GetValue<string>(), 0], [hiresApply[0]!.GetValue<string>(), 1]);
                }
            }

            var map = Fit(nodes, "fit", detected, (w, h), (width, height), resizeMode);
            if (unit.SaveDetectedMap) prompt[MapId(i)] = new JsonObject { ["class_type"] = "PreviewImage", ["inputs"] = new JsonObject { ["images"] = map.DeepClone() } };
            if (hires is not null && unit.HiresOption == A1111ControlNetUnit.HiresOptions[2]) continue;
            var apply = Apply(nodes, "apply", unit, unit.ControlMode, positive, negative, net, map);
            (positive, negative) = ([apply[0]!.GetValue<string>(), 0], [apply[0]!.GetValue<string>(), 1]);
        }

        foreach (var (id, inputs) in samplers)
        {
            var second = hires is not null && id.StartsWith("hires_", StringComparison.Ordinal);
            inputs["positive"] = (second ? hiresPositive : positive).DeepClone();
            inputs["negative"] = (second ? hiresNegative : negative).DeepClone();
        }
    }

    /// <summary>
    /// The unit's apply node: ControlNetApplyAdvanced (strength = weight, guidance start/end) when Balanced; otherwise the
    /// extension's soft injection (residual i of 13 × weight·0.825^(12−i)) as ComfyUI-Advanced-ControlNet's
    /// ACN_ScaledSoftControlNetWeights (base 0.825) → ACN_AdvancedControlNetApply_v2, its uncond multiplier 0 for "ControlNet
    /// is more important" (the extension's cfg injection: the residuals of the negative's rows × 0), 1 for "My prompt is more
    /// important". Returns the link to its positive output (output 1 is the negative).
    /// </summary>
    public static JsonArray Apply(A1111ControlNetNodes nodes, string name, A1111ControlNetUnit unit, string controlMode, JsonArray positive, JsonArray negative, JsonArray net, JsonArray image)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(unit);
        var inputs = new JsonObject
        {
            ["positive"] = positive.DeepClone(), ["negative"] = negative.DeepClone(), ["control_net"] = net.DeepClone(), ["image"] = image.DeepClone(),
            ["strength"] = unit.Weight, ["start_percent"] = unit.GuidanceStart, ["end_percent"] = unit.GuidanceEnd,
        };
        if (controlMode == A1111ControlNetUnit.ControlModes[0]) return nodes.Add(name, "ControlNetApplyAdvanced", inputs);
        inputs["weights_override"] = nodes.Add($"{name}_weights", "ACN_ScaledSoftControlNetWeights", new JsonObject
        {
            ["base_multiplier"] = 0.825, ["uncond_multiplier"] = controlMode == A1111ControlNetUnit.ControlModes[2] ? 0.0 : 1.0,
        });
        return nodes.Add(name, "ACN_AdvancedControlNetApply_v2", inputs);
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
    private static JsonArray Fit(A1111ControlNetNodes nodes, string name, JsonArray map, (int Width, int Height) size, (int Width, int Height) target, string resizeMode)
    {
        if (size == target) return (JsonArray)map.DeepClone();
        double k0 = (double)target.Height / size.Height, k1 = (double)target.Width / size.Width;
        switch (resizeMode)
        {
            case "Just Resize":
                return nodes.Scale(name, (JsonArray)map.DeepClone(), size, target);
            case "Resize and Fill":
            {
                // Scaled to fit inside and padded: the extension pads with the border's median colour, ResizeAndPadImage with black.
                var k = Math.Min(k0, k1);
                (int, int) fit = ((int)Math.Round(size.Width * k), (int)Math.Round(size.Height * k));
                return nodes.Add(name, "ResizeAndPadImage", new JsonObject
                {
                    ["image"] = map.DeepClone(), ["target_width"] = target.Width, ["target_height"] = target.Height, ["padding_color"] = "black",
                    ["interpolation"] = A1111ControlNetNodes.Method(size, fit),
                });
            }

            default:
            {
                // Crop and Resize: scaled to cover, the middle kept (ComfyUI's center crop cuts the source to the shape first).
                var k = Math.Max(k0, k1);
                (int, int) cover = ((int)Math.Round(size.Width * k), (int)Math.Round(size.Height * k));
                return nodes.Add(name, "ImageScale", new JsonObject
                {
                    ["image"] = map.DeepClone(), ["upscale_method"] = A1111ControlNetNodes.Method(size, cover), ["width"] = target.Width, ["height"] = target.Height, ["crop"] = "center",
                });
            }
        }
    }
}
