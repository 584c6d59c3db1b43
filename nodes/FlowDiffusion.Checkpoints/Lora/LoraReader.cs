using System.Text.RegularExpressions;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// Matches a LoRA file's keys to a model's weights (diffusers initializer names). Formats: kohya
/// (<c>lora_unet_*</c>/<c>lora_te_*</c> with <c>.lora_down.weight</c>, <c>.lora_up.weight</c>, <c>.alpha</c>; the module
/// name is the diffusers name with '.' as '_'; for SDXL <c>lora_te1_*</c>/<c>lora_te2_*</c> and UNet modules also under
/// their SGM names, <c>lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q</c>) and diffusers/PEFT (<c>unet.</c>,
/// <c>text_encoder.</c>, <c>text_encoder_2.</c>, <c>base_model.model.</c> or no prefix; <c>.lora_A.weight</c>/<c>.lora_B.weight</c>, <c>.lora.down.weight</c>/<c>.lora.up.weight</c>,
/// <c>.lora_linear_layer.down/up.weight</c>, attention processors' <c>.processor.to_q_lora.down.weight</c>; optional
/// <c>.alpha</c>). Linear layers, 1×1 and 3×3 (LoCon) convolutions match; anything else is listed as unmatched with
/// the reason, never dropped silently.
/// </summary>
public static partial class LoraReader
{
    private const string SdxlUNetMarker = "add_embedding.linear_1.weight";

    private static readonly string[] KohyaPrefixes = ["lora_unet_", "lora_te_", "lora_te1_", "lora_te2_"];

    private static readonly (string Suffix, Role Role)[] KohyaSuffixes =
        [(".lora_down.weight", Role.Down), (".lora_up.weight", Role.Up), (".alpha", Role.Alpha)];

    private static readonly (string Suffix, Role Role)[] DiffusersSuffixes =
    [
        (".lora_A.weight", Role.Down), (".lora_B.weight", Role.Up), (".lora.down.weight", Role.Down), (".lora.up.weight", Role.Up),
        (".lora_linear_layer.down.weight", Role.Down), (".lora_linear_layer.up.weight", Role.Up), (".alpha", Role.Alpha),
    ];

    private enum Role
    {
        Down,
        Up,
        Alpha,
    }

    /// <summary>Opens <paramref name="path"/> and matches it; see <see cref="Match(SafetensorsFile, IReadOnlyDictionary{string, IReadOnlyList{long}}, IReadOnlyDictionary{string, IReadOnlyList{long}}, IReadOnlyDictionary{string, IReadOnlyList{long}})"/>.</summary>
    public static LoraMatch Match(
        string path, IReadOnlyDictionary<string, IReadOnlyList<long>>? unet, IReadOnlyDictionary<string, IReadOnlyList<long>>? textEncoder,
        IReadOnlyDictionary<string, IReadOnlyList<long>>? textEncoder2 = null)
    {
        using var file = SafetensorsFile.Open(path);
        return Match(file, unet, textEncoder, textEncoder2);
    }

    /// <summary>
    /// Matches the file's keys to the weights of <paramref name="unet"/>, <paramref name="textEncoder"/> and SDXL's
    /// <paramref name="textEncoder2"/> (name → shape; null when that network is not given, and its keys are then
    /// unmatched). Given a second text encoder, kohya's <c>lora_te1_</c> names the first; an SDXL UNet (one with
    /// <c>add_embedding</c>) also takes kohya module names in SGM's block layout.
    /// </summary>
    public static LoraMatch Match(
        SafetensorsFile file, IReadOnlyDictionary<string, IReadOnlyList<long>>? unet, IReadOnlyDictionary<string, IReadOnlyList<long>>? textEncoder,
        IReadOnlyDictionary<string, IReadOnlyList<long>>? textEncoder2 = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        var kohyaNames = new Dictionary<string, (LoraNetwork, string)>(StringComparer.Ordinal);
        AddKohyaNames(kohyaNames, unet, "lora_unet_", LoraNetwork.UNet);
        if (unet is not null && unet.ContainsKey(SdxlUNetMarker))
        {
            foreach (var (weight, ldm) in LdmUNetNames.Of([.. unet.Keys]))
            {
                if (unet[weight].Count >= 2 && ldm.EndsWith(".weight", StringComparison.Ordinal))
                {
                    kohyaNames.TryAdd("lora_unet_" + ldm[..^".weight".Length].Replace('.', '_'), (LoraNetwork.UNet, weight));
                }
            }
        }

        if (textEncoder2 is null)
        {
            AddKohyaNames(kohyaNames, textEncoder, "lora_te_", LoraNetwork.TextEncoder);
        }
        else
        {
            AddKohyaNames(kohyaNames, textEncoder, "lora_te1_", LoraNetwork.TextEncoder);
            AddKohyaNames(kohyaNames, textEncoder2, "lora_te2_", LoraNetwork.TextEncoder2);
        }

        var groups = new Dictionary<string, Group>(StringComparer.Ordinal);
        var order = new List<string>();
        var unmatched = new List<LoraUnmatchedKey>();
        bool kohya = false, diffusers = false;
        foreach (var key in file.Tensors.Keys.Order(StringComparer.Ordinal))
        {
            if (Parse(key) is not { } parsed)
            {
                unmatched.Add(new LoraUnmatchedKey(key, "not a LoRA up/down/alpha key this reader knows (LoHa, LoKr, DoRA and LoCon mid weights are not supported)"));
                continue;
            }

            var (module, role, isKohya) = parsed;
            kohya |= isKohya;
            diffusers |= !isKohya;
            if (!groups.TryGetValue(module, out var group))
            {
                groups[module] = group = new Group(isKohya);
                order.Add(module);
            }

            group.Keys.Add(key);
            switch (role)
            {
                case Role.Down: group.Down = key; break;
                case Role.Up: group.Up = key; break;
                default: group.Alpha = key; break;
            }
        }

        var modules = new List<LoraModule>();
        var seen = new HashSet<(LoraNetwork, string)>();
        foreach (var module in order)
        {
            var group = groups[module];
            var target = group.Kohya
                ? kohyaNames.TryGetValue(module, out var named) ? named : ((LoraNetwork, string)?)null
                : FindDiffusers(module, unet, textEncoder, textEncoder2);
            string? problem = null;
            LoraModule? matched = null;
            if (group.Up is null || group.Down is null)
            {
                problem = $"module '{module}' has no {(group.Up is null ? "up" : "down")} matrix";
            }
            else if (target is not { } found)
            {
                problem = WhyNoTarget(module, group.Kohya, unet, textEncoder, textEncoder2);
            }
            else if (!seen.Add(found))
            {
                problem = $"a second module for weight '{found.Item2}'";
            }
            else
            {
                var (network, weight) = found;
                var shape = (network switch { LoraNetwork.UNet => unet, LoraNetwork.TextEncoder => textEncoder, _ => textEncoder2 })![weight];
                (matched, problem) = Build(file, module, group, network, weight, shape);
            }

            if (matched is not null)
            {
                modules.Add(matched);
            }
            else
            {
                unmatched.AddRange(group.Keys.Select(k => new LoraUnmatchedKey(k, problem!)));
            }
        }

        var format = (kohya, diffusers) switch { (true, true) => "kohya+diffusers", (true, false) => "kohya", (false, true) => "diffusers", _ => "none" };
        return new LoraMatch(file.Path, format, modules, unmatched, file.Tensors.Count);
    }

    private static (LoraModule?, string?) Build(SafetensorsFile file, string module, Group group, LoraNetwork network, string weight, IReadOnlyList<long> shape)
    {
        var up = file.Tensors[group.Up!];
        var down = file.Tensors[group.Down!];
        if (!SafetensorsDTypes.ConvertsToFloat32(up.DType) || !SafetensorsDTypes.ConvertsToFloat32(down.DType))
        {
            return (null, $"up/down are {SafetensorsDTypes.Name(up.DType)}/{SafetensorsDTypes.Name(down.DType)}, not floating point");
        }

        if (down.Shape.Length < 2 || up.Shape.Length < 2 || up.Shape.Skip(2).Any(d => d != 1) || down.Shape[0] != up.Shape[1] || down.Shape[0] == 0)
        {
            return (null, $"up {up.ShapeText} and down {down.ShapeText} are not a low-rank pair (up [out, rank(,1,1)], down [rank, in(,kh,kw)])");
        }

        var rank = down.Shape[0];
        var columns = down.ElementCount / rank;
        var expectedColumns = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        if (shape.Count < 2 || up.Shape[0] != shape[0] || columns != expectedColumns)
        {
            return (null, $"up {up.ShapeText} · down {down.ShapeText} does not fit weight '{weight}' [{string.Join(",", shape)}]");
        }

        var scale = 1f;
        if (group.Alpha is { } alphaKey)
        {
            var alpha = file.Tensors[alphaKey];
            if (alpha.ElementCount != 1 || !SafetensorsDTypes.ConvertsToFloat32(alpha.DType))
            {
                return (null, $"alpha {alpha.ShapeText} {SafetensorsDTypes.Name(alpha.DType)} is not one floating-point number");
            }

            scale = file.ReadFloat32(alphaKey)[0] / rank;
            if (!float.IsFinite(scale))
            {
                return (null, "alpha is not a finite number");
            }
        }

        return (new LoraModule(network, weight, module, group.Up!, group.Down!, group.Alpha, (int)rank, scale, shape), null);
    }

    private static (string Module, Role Role, bool Kohya)? Parse(string key)
    {
        if (KohyaPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal)))
        {
            foreach (var (suffix, role) in KohyaSuffixes)
            {
                if (key.EndsWith(suffix, StringComparison.Ordinal))
                {
                    return (key[..^suffix.Length], role, true);
                }
            }

            return null;
        }

        var processor = ProcessorKey().Match(key);
        if (processor.Success)
        {
            var projection = processor.Groups[2].Value == "to_out" ? "to_out.0" : processor.Groups[2].Value;
            return ($"{processor.Groups[1].Value}.{projection}", processor.Groups[3].Value == "down" ? Role.Down : Role.Up, false);
        }

        foreach (var (suffix, role) in DiffusersSuffixes)
        {
            if (key.EndsWith(suffix, StringComparison.Ordinal) && key.Length > suffix.Length)
            {
                return (key[..^suffix.Length], role, false);
            }
        }

        return null;
    }

    private static (LoraNetwork, string)? FindDiffusers(
        string module, IReadOnlyDictionary<string, IReadOnlyList<long>>? unet, IReadOnlyDictionary<string, IReadOnlyList<long>>? textEncoder,
        IReadOnlyDictionary<string, IReadOnlyList<long>>? textEncoder2)
    {
        if (module.StartsWith("text_encoder_2.", StringComparison.Ordinal))
        {
            return Lookup(textEncoder2, module["text_encoder_2.".Length..], LoraNetwork.TextEncoder2);
        }

        if (module.StartsWith("unet.", StringComparison.Ordinal))
        {
            return Lookup(unet, module["unet.".Length..], LoraNetwork.UNet);
        }

        if (module.StartsWith("text_encoder.", StringComparison.Ordinal))
        {
            return Lookup(textEncoder, module["text_encoder.".Length..], LoraNetwork.TextEncoder);
        }

        var bare = module.StartsWith("base_model.model.", StringComparison.Ordinal) ? module["base_model.model.".Length..] : module;
        return Lookup(unet, bare, LoraNetwork.UNet) ?? Lookup(textEncoder, bare, LoraNetwork.TextEncoder);
    }

    private static (LoraNetwork, string)? Lookup(IReadOnlyDictionary<string, IReadOnlyList<long>>? weights, string module, LoraNetwork network) =>
        weights is not null && weights.ContainsKey(module + ".weight") ? (network, module + ".weight") : null;

    private static string WhyNoTarget(
        string module, bool kohya, IReadOnlyDictionary<string, IReadOnlyList<long>>? unet, IReadOnlyDictionary<string, IReadOnlyList<long>>? textEncoder,
        IReadOnlyDictionary<string, IReadOnlyList<long>>? textEncoder2)
    {
        if (kohya && textEncoder2 is null && (module.StartsWith("lora_te1_", StringComparison.Ordinal) || module.StartsWith("lora_te2_", StringComparison.Ordinal)))
        {
            return "an SDXL text-encoder module (lora_te1_/lora_te2_); this model has one text encoder";
        }

        if (kohya && textEncoder2 is not null && module.StartsWith("lora_te_", StringComparison.Ordinal))
        {
            return "an SD 1.x text-encoder module (lora_te_); this SDXL model's encoders take lora_te1_/lora_te2_";
        }

        var network = kohya
            ? module.StartsWith("lora_unet_", StringComparison.Ordinal) ? LoraNetwork.UNet : module.StartsWith("lora_te2_", StringComparison.Ordinal) ? LoraNetwork.TextEncoder2 : LoraNetwork.TextEncoder
            : module.StartsWith("text_encoder_2.", StringComparison.Ordinal) ? LoraNetwork.TextEncoder2
            : module.StartsWith("text_encoder.", StringComparison.Ordinal) ? LoraNetwork.TextEncoder : LoraNetwork.UNet;
        var (weights, what) = network switch
        {
            LoraNetwork.UNet => (unet, "UNet"),
            LoraNetwork.TextEncoder => (textEncoder, "text encoder"),
            _ => (textEncoder2, "second text encoder"),
        };
        return weights is null ? $"no {what} was given to apply it to" : $"the model has no weight for module '{module}'";
    }

    private static void AddKohyaNames(Dictionary<string, (LoraNetwork, string)> names, IReadOnlyDictionary<string, IReadOnlyList<long>>? weights, string prefix, LoraNetwork network)
    {
        if (weights is null)
        {
            return;
        }

        foreach (var (name, shape) in weights)
        {
            if (shape.Count >= 2 && name.EndsWith(".weight", StringComparison.Ordinal))
            {
                names.TryAdd(prefix + name[..^".weight".Length].Replace('.', '_'), (network, name));
            }
        }
    }

    [GeneratedRegex(@"^(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$", RegexOptions.CultureInvariant)]
    private static partial Regex ProcessorKey();

    private sealed class Group(bool kohya)
    {
        public bool Kohya { get; } = kohya;

        public List<string> Keys { get; } = [];

        public string? Down { get; set; }

        public string? Up { get; set; }

        public string? Alpha { get; set; }
    }
}
