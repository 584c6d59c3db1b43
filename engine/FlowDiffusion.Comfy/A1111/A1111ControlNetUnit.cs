using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// An enabled unit of the sd-webui-controlnet extension's API (<c>alwayson_scripts.controlnet.args[i]</c>, its
/// <c>ControlNetUnit</c>), read with the extension's defaults and bounds. Fields that would change the image in a way
/// FlowDiffusion does not follow are refused naming <c>alwayson_scripts.controlnet.args[i].FIELD</c>; unknown ones are
/// ignored, as the extension ignores them.
/// </summary>
public sealed record A1111ControlNetUnit
{
    /// <summary>The most units a request may carry (<c>/controlnet/settings</c>' <c>control_net_unit_count</c>).</summary>
    public const int MaxUnits = 8;

    /// <summary>The extension's resize modes, by name, in the order of their numbers 0, 1, 2.</summary>
    public static readonly string[] ResizeModes = ["Just Resize", "Crop and Resize", "Resize and Fill"];

    /// <summary>The extension's control modes, by name, in the order of their numbers 0, 1, 2.</summary>
    public static readonly string[] ControlModes = ["Balanced", "My prompt is more important", "ControlNet is more important"];

    /// <summary>The extension's hires fix options (<c>hr_option</c>), by name, in the order of their numbers 0, 1, 2.</summary>
    public static readonly string[] HiresOptions = ["Both", "Low res only", "High res only"];

    /// <summary>The field prefix of the unit (<c>alwayson_scripts.controlnet.args[0]</c>).</summary>
    public required string Field { get; init; }

    /// <summary>The unit's position among the enabled units (<c>ControlNet i</c> in the infotext).</summary>
    public int Index { get; init; }

    /// <summary>The preprocessor.</summary>
    public required A1111ControlNetModule Module { get; init; }

    /// <summary>The module as sent (name or label), as the infotext writes it.</summary>
    public required string ModuleText { get; init; }

    /// <summary>The model as sent (<c>control_v11p_sd15_canny [d14c016b]</c>).</summary>
    public required string Model { get; init; }

    /// <summary>The ControlNet's weight (0–2): ControlNetApplyAdvanced's strength.</summary>
    public double Weight { get; init; } = 1;

    /// <summary>The control image, base64; null: img2img's init image.</summary>
    public string? Image { get; init; }

    /// <summary>The resize mode's name (<see cref="ResizeModes"/>).</summary>
    public string ResizeMode { get; init; } = "Crop and Resize";

    /// <summary>The preprocessor resolution after the slider's bounds (pixel perfect replaces it when the image is known).</summary>
    public double ProcessorRes { get; init; } = 512;

    /// <summary>The first slider's value after its bounds.</summary>
    public double ThresholdA { get; init; }

    /// <summary>The second slider's value after its bounds.</summary>
    public double ThresholdB { get; init; }

    /// <summary>Where the ControlNet starts acting (0–1).</summary>
    public double GuidanceStart { get; init; }

    /// <summary>Where it stops (0–1, not before the start).</summary>
    public double GuidanceEnd { get; init; } = 1;

    /// <summary>Whether the resolution is computed from the image and the target size.</summary>
    public bool PixelPerfect { get; init; }

    /// <summary>
    /// The control mode's name (<see cref="ControlModes"/>): Balanced; "My prompt is more important", the extension's soft
    /// injection (residual i of 13 × weight·0.825^(12−i)); "ControlNet is more important", soft injection on the positive's
    /// rows alone (the negative's residuals × 0).
    /// </summary>
    public string ControlMode { get; init; } = "Balanced";

    /// <summary>With the hires fix, the passes the unit acts in (<see cref="HiresOptions"/>); without it the unit acts in the one pass whatever this says, as in the extension.</summary>
    public string HiresOption { get; init; } = "Both";

    /// <summary>The unit as the extension's infotext writes it ("Module: canny, Model: …, Weight: 1.0, …"); empty when a value holds a comma or colon, as there.</summary>
    public string Infotext { get; init; } = "";

    /// <summary>Whether the control image is appended to the answer's images (the extension's detected map).</summary>
    public bool SaveDetectedMap { get; init; } = true;

    /// <summary>
    /// The enabled units of a request's <c>alwayson_scripts</c> (null or empty: none). Scripts other than ControlNet are
    /// refused by name, as A1111 refuses a script it does not have.
    /// </summary>
    public static IReadOnlyList<A1111ControlNetUnit> Parse(JsonNode? scripts)
    {
        if (scripts is null || scripts.GetValueKind() == JsonValueKind.Null) return [];
        if (scripts is not JsonObject map) throw new A1111RequestException(422, "alwayson_scripts", "must be an object of scripts ({\"controlnet\": {\"args\": [unit, …]}})");
        var units = new List<A1111ControlNetUnit>();
        foreach (var (key, value) in map)
        {
            // A1111 finds an always-on script by its title without regard to case: ControlNet's is "ControlNet".
            if (!key.Equals("controlnet", StringComparison.OrdinalIgnoreCase))
            {
                throw new A1111RequestException(422, $"alwayson_scripts.{key}",
                    "FlowDiffusion runs no such always-on script (ADetailer, Regional Prompter … are not supported); only controlnet");
            }

            if (value is null || value.GetValueKind() == JsonValueKind.Null) continue;
            if (value is not JsonObject script) throw new A1111RequestException(422, $"alwayson_scripts.{key}", "must be an object {\"args\": [unit, …]}");
            var args = script["args"];
            if (args is null || args.GetValueKind() == JsonValueKind.Null) continue;
            if (args is not JsonArray list) throw new A1111RequestException(422, $"alwayson_scripts.{key}.args", "must be a list of ControlNet units (objects)");
            for (var i = 0; i < list.Count; i++)
            {
                var field = $"alwayson_scripts.{key}.args[{i}]";
                if (list[i] is null || list[i]!.GetValueKind() == JsonValueKind.Null) continue;
                if (list[i] is not JsonObject unit)
                    throw new A1111RequestException(422, field, "must be a ControlNet unit object ({\"enabled\": true, \"module\": …, \"model\": …}); positional arguments are not supported");
                if (Read(unit, field, units.Count) is { } enabled) units.Add(enabled);
                if (units.Count > MaxUnits) throw new A1111RequestException(422, field, $"at most {MaxUnits} enabled ControlNet units (GET /controlnet/settings)");
            }
        }

        return units;
    }

    /// <summary>Sets the units' images (and masks) of an already parsed <c>alwayson_scripts</c> to null, so the answer's <c>parameters</c> does not echo their megabytes.</summary>
    public static void RemoveImages(JsonNode? scripts)
    {
        if (scripts is not JsonObject map) return;
        foreach (var (_, script) in map)
        {
            if (script?["args"] is not JsonArray args) continue;
            foreach (var unit in args.OfType<JsonObject>())
            {
                foreach (var field in new[] { "image", "input_image", "mask", "mask_image" })
                {
                    if (unit.ContainsKey(field)) unit[field] = null;
                }
            }
        }
    }

    // One unit; null when it is not enabled (the extension's default), which the extension skips whatever else it holds.
    private static A1111ControlNetUnit? Read(JsonObject unit, string prefix, int index)
    {
        JsonNode? Get(string name, params string[] aliases)
        {
            var node = unit[name];
            foreach (var alias in aliases) node ??= unit[alias];
            return node is null || node.GetValueKind() == JsonValueKind.Null ? null : node;
        }

        A1111RequestException Bad(string name, string message) => new(422, $"{prefix}.{name}", message);

        bool Flag(string name, bool fallback, params string[] aliases) => Get(name, aliases) switch
        {
            null => fallback,
            var n when n.GetValueKind() == JsonValueKind.True => true,
            var n when n.GetValueKind() == JsonValueKind.False => false,
            var n when JsonNumbers.Integer(n) is 0 or 1 => JsonNumbers.Integer(n) == 1,
            var n when n is JsonValue v && v.GetValueKind() == JsonValueKind.String && bool.TryParse(v.GetValue<string>(), out var b) => b,
            _ => throw Bad(name, "must be true or false"),
        };

        double Number(string name, double fallback, params string[] aliases)
        {
            var node = Get(name, aliases);
            if (node is null) return fallback;
            return JsonNumbers.Number(node)
                   ?? (node is JsonValue s && s.GetValueKind() == JsonValueKind.String && double.TryParse(s.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed) ? parsed : (double?)null)
                   ?? throw Bad(name, $"must be a number, not {node.ToJsonString()}");
        }

        string? Text(string name)
        {
            var node = Get(name);
            if (node is null) return null;
            return node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw Bad(name, "must be a string");
        }

        if (!Flag("enabled", false)) return null;
        var moduleText = Text("module") ?? "none";
        if (moduleText.StartsWith("inpaint", StringComparison.Ordinal))
        {
            throw new A1111RequestException(422, $"{prefix}.module",
                $"'{moduleText}': the extension's inpaint modules also blend each step's predicted image with the encoded control image outside the mask, which FlowDiffusion's samplers do not; " +
                "use img2img's own inpainting (mask, inpainting_fill …), or the ComfyUI API's InpaintPreprocessor with ControlNetApplyAdvanced");
        }

        if (A1111ControlNetModules.Refused.TryGetValue(moduleText, out var refusal))
            throw new A1111RequestException(422, $"{prefix}.module", $"'{moduleText}': {refusal}");
        var module = A1111ControlNetModules.Find(moduleText)
                     ?? throw new A1111RequestException(422, $"{prefix}.module",
                         $"'{moduleText}': FlowDiffusion does not run this preprocessor; use one of {string.Join(", ", A1111ControlNetModules.All.Select(m => m.Name))} (GET /controlnet/module_list)");
        var model = Text("model") ?? "None";
        if (model is "None" or "") throw Bad("model", "no ControlNet model selected; name one of GET /controlnet/model_list");

        var weight = Number("weight", 1);
        if (weight is < 0 or > 2) throw Bad("weight", $"{Format(weight)} is out of range 0–2");
        var start = Number("guidance_start", 0);
        if (start is < 0 or > 1) throw Bad("guidance_start", $"{Format(start)} is out of range 0–1");
        var end = Number("guidance_end", 1, "guidance");
        if (end is < 0 or > 1) throw Bad("guidance_end", $"{Format(end)} is out of range 0–1");
        if (start > end) throw Bad("guidance_start", $"guidance_start ({Format(start)}) is after guidance_end ({Format(end)})");

        var controlMode = ReadChoice(Get("control_mode"), ControlModes, "control_mode", Bad);
        var hiresOption = ReadChoice(Get("hr_option"), HiresOptions, "hr_option", Bad);
        var resize = ReadResizeMode(Get("resize_mode"), Bad);
        // The extension's bounds: a value outside the slider (−1 included) becomes the slider's default, written as the
        // extension's integer default where it is one; a sent value is a float (an int for processor_res).
        (double Value, string Text) Slider(string name, A1111ControlNetSlider slider, bool integer)
        {
            var sent = Number(name, -1);
            if (slider.Within(sent)) return integer ? (Math.Floor(sent), Math.Floor(sent).ToString(CultureInfo.InvariantCulture)) : (sent, Format(sent));
            var text = slider.Value == Math.Floor(slider.Value) ? slider.Value.ToString(CultureInfo.InvariantCulture) : Format(slider.Value);
            return (slider.Value, text);
        }

        var (res, resText) = Slider("processor_res", module.Resolution, true);
        var (a, aText) = Slider("threshold_a", module.SliderA, false);
        var (b, bText) = Slider("threshold_b", module.SliderB, false);
        var pixelPerfect = Flag("pixel_perfect", false);
        string[] values = [moduleText, model, Format(weight), resize, resText, aText, bText, Format(start), Format(end), pixelPerfect ? "True" : "False", controlMode];
        string[] names = ["Module", "Model", "Weight", "Resize Mode", "Processor Res", "Threshold A", "Threshold B", "Guidance Start", "Guidance End", "Pixel Perfect", "Control Mode"];
        var infotext = values.Any(v => v.Contains(',', StringComparison.Ordinal) || v.Contains(':', StringComparison.Ordinal))
            ? "" : string.Join(", ", names.Zip(values, (n, v) => $"{n}: {v}"));
        var image = ReadImage(Get("image", "input_image"), Get("mask", "mask_image"), prefix);
        Refusals(unit, prefix);
        return new A1111ControlNetUnit
        {
            Field = prefix,
            Index = index,
            Module = module,
            ModuleText = moduleText,
            Model = model,
            Weight = weight,
            Image = image,
            ResizeMode = resize,
            ProcessorRes = res,
            ThresholdA = a,
            ThresholdB = b,
            GuidanceStart = start,
            GuidanceEnd = end,
            PixelPerfect = pixelPerfect,
            ControlMode = controlMode,
            HiresOption = hiresOption,
            Infotext = infotext,
            SaveDetectedMap = Flag("save_detected_map", true),
        };
    }

    // One of the extension's enum values by name, or by its position (the extension's older control_mode_from_value).
    private static string ReadChoice(JsonNode? node, string[] names, string field, Func<string, string, A1111RequestException> bad)
    {
        if (node is null) return names[0];
        if (JsonNumbers.Integer(node) is { } number)
        {
            return number >= 0 && number < names.Length
                ? names[number]
                : throw bad(field, $"{number} is not a {field}; use {string.Join(", ", names.Select((m, i) => $"{i} (\"{m}\")"))}");
        }

        var text = node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        return names.FirstOrDefault(m => m == text)
               ?? throw bad(field, $"{node.ToJsonString()} is not a {field}; use {string.Join(", ", names.Select((m, i) => $"\"{m}\" ({i})"))}");
    }

    // A name, an alias of the extension's, or 0/1/2 (3, A1111's latent resize, is Just Resize there too).
    private static string ReadResizeMode(JsonNode? node, Func<string, string, A1111RequestException> bad)
    {
        if (node is null) return "Crop and Resize";
        if (JsonNumbers.Integer(node) is { } number)
        {
            return number switch
            {
                >= 0 and <= 2 => ResizeModes[number],
                3 => ResizeModes[0],
                _ => throw bad("resize_mode", $"{number} is not a resize mode; use 0 (Just Resize), 1 (Crop and Resize) or 2 (Resize and Fill)"),
            };
        }

        var text = node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        var named = text switch
        {
            "Inner Fit (Scale to Fit)" or "Scale to Fit (Inner Fit)" => "Crop and Resize",
            "Outer Fit (Shrink to Fit)" or "Envelope (Outer Fit)" => "Resize and Fill",
            _ => text,
        };
        return ResizeModes.FirstOrDefault(m => m == named)
               ?? throw bad("resize_mode", $"{node.ToJsonString()} is not a resize mode; use {string.Join(", ", ResizeModes.Select((m, i) => $"\"{m}\" ({i})"))}");
    }

    // The extension's image forms: a base64 string, {image, mask}, or [image, mask]. A mask (inpainting or a scribble in its
    // alpha) is not supported.
    private static string? ReadImage(JsonNode? image, JsonNode? mask, string prefix)
    {
        string field = $"{prefix}.image";
        if (image is JsonArray { Count: 2 } pair && pair[0] is JsonValue)
        {
            mask ??= pair[1];
            image = pair[0];
            field += "[0]";
        }
        else if (image is JsonArray { Count: 1 } one && one[0] is JsonObject)
        {
            image = one[0];
            field += "[0]";
        }

        if (image is JsonObject parts)
        {
            mask ??= parts["mask"];
            image = parts["image"];
            field += ".image";
        }

        if (mask is not null && mask.GetValueKind() != JsonValueKind.Null && !(mask is JsonValue m && m.GetValueKind() == JsonValueKind.String && m.GetValue<string>().Length == 0))
            throw new A1111RequestException(422, $"{prefix}.mask", "a mask on a ControlNet image (inpaint, or a scribble drawn in its alpha) is not supported; send the image alone");
        if (image is null || image.GetValueKind() == JsonValueKind.Null) return null;
        return image is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length > 0
            ? v.GetValue<string>()
            : throw new A1111RequestException(422, field, "must be one base64 image (a PNG, JPEG or WebP file, optionally as a data: URL), or {\"image\": …}");
    }

    // Unit fields that change the result in ways FlowDiffusion does not follow: refused unless left at the extension's default.
    private static void Refusals(JsonObject unit, string prefix)
    {
        static bool Unset(JsonNode? node) => node is null || node.GetValueKind() == JsonValueKind.Null || node is JsonArray { Count: 0 } || node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length == 0;

        foreach (var (field, why) in new[]
                 {
                     ("advanced_weighting", "per-layer weights are not supported"),
                     ("effective_region_mask", "effective region masks are not supported"),
                     ("ipadapter_input", "IP-Adapter units are not supported here (use the ComfyUI API's IPAdapter classes)"),
                     ("batch_images", "batch input is not supported"),
                 })
        {
            if (!Unset(unit[field])) throw new A1111RequestException(422, $"{prefix}.{field}", why);
        }

        foreach (var (field, fallback, why) in new[]
                 {
                     ("input_mode", "simple", "only the simple input mode is supported"),
                     ("union_control_type", "Unknown", "union ControlNet types are not supported through this API (ComfyUI's SetUnionControlNetType is)"),
                 })
        {
            var node = unit[field];
            if (!Unset(node) && !(node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == fallback))
                throw new A1111RequestException(422, $"{prefix}.{field}", $"{node!.ToJsonString()}: {why}");
        }

        if (unit["animatediff_batch"] is { } batch && batch.GetValueKind() == JsonValueKind.True)
            throw new A1111RequestException(422, $"{prefix}.animatediff_batch", "AnimateDiff batches are not supported");
    }

    /// <summary>A number as Python's <c>str(float)</c> writes it (1.0, 0.5, 100.0), as the extension's infotext does.</summary>
    public static string Format(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e16 ? value.ToString("0", CultureInfo.InvariantCulture) + ".0" : value.ToString("R", CultureInfo.InvariantCulture);
}
