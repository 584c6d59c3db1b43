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
/// <c>.alpha</c>). Linear layers, 1×1 and 3×3 (LoCon) convolutions match, with LyCORIS's kohya-named algorithms:
/// Tucker LoCon (<c>.lora_mid.weight</c>), LoHa (<c>.hada_w1_a</c> … <c>.hada_t2</c>), LoKr (<c>.lokr_w1</c> …
/// <c>.lokr_t2</c>), GLoRA (<c>.a1.weight</c> … <c>.b2.weight</c>), OFT and BOFT (<c>.oft_blocks</c>, 3-D or 4-D, with
/// <c>.rescale</c>), and DoRA's <c>.dora_scale</c> beside any of them; the whole-weight <c>.diff</c>, <c>.diff_b</c>,
/// <c>.w_norm</c>, <c>.b_norm</c> and <c>.set_weight</c>; anything else is listed as unmatched with the reason, never
/// dropped silently.
/// </summary>
public static partial class LoraReader
{
    private const string SdxlUNetMarker = "add_embedding.linear_1.weight";

    private static readonly string[] KohyaPrefixes = ["lora_unet_", "lora_te_", "lora_te1_", "lora_te2_"];

    private static readonly (string Suffix, Role Role)[] KohyaSuffixes =
    [
        (".lora_down.weight", Role.Down), (".lora_up.weight", Role.Up), (".lora_mid.weight", Role.Mid), (".alpha", Role.Alpha), (".dora_scale", Role.DoraScale),
        (".hada_w1_a", Role.HadaW1A), (".hada_w1_b", Role.HadaW1B), (".hada_w2_a", Role.HadaW2A), (".hada_w2_b", Role.HadaW2B), (".hada_t1", Role.HadaT1), (".hada_t2", Role.HadaT2),
        (".lokr_w1", Role.LokrW1), (".lokr_w1_a", Role.LokrW1A), (".lokr_w1_b", Role.LokrW1B), (".lokr_w2", Role.LokrW2), (".lokr_w2_a", Role.LokrW2A), (".lokr_w2_b", Role.LokrW2B),
        (".lokr_t2", Role.LokrT2), (".diff", Role.Diff), (".diff_b", Role.DiffBias), (".w_norm", Role.NormWeight), (".b_norm", Role.NormBias),
        (".oft_blocks", Role.OftBlocks), (".rescale", Role.Rescale), (".a1.weight", Role.GloraA1), (".a2.weight", Role.GloraA2), (".b1.weight", Role.GloraB1),
        (".b2.weight", Role.GloraB2), (".set_weight", Role.SetWeight),
    ];

    private static readonly (string Suffix, Role Role)[] DiffusersSuffixes =
    [
        (".lora_A.weight", Role.Down), (".lora_B.weight", Role.Up), (".lora.down.weight", Role.Down), (".lora.up.weight", Role.Up),
        (".lora_linear_layer.down.weight", Role.Down), (".lora_linear_layer.up.weight", Role.Up), (".alpha", Role.Alpha), (".dora_scale", Role.DoraScale),
    ];

    private enum Role
    {
        Down,
        Up,
        Mid,
        Alpha,
        DoraScale,
        HadaW1A,
        HadaW1B,
        HadaW2A,
        HadaW2B,
        HadaT1,
        HadaT2,
        LokrW1,
        LokrW1A,
        LokrW1B,
        LokrW2,
        LokrW2A,
        LokrW2B,
        LokrT2,
        Diff,
        DiffBias,
        NormWeight,
        NormBias,
        OftBlocks,
        Rescale,
        GloraA1,
        GloraA2,
        GloraB1,
        GloraB2,
        SetWeight,
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
                if (ldm.EndsWith(".weight", StringComparison.Ordinal))
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
                unmatched.Add(new LoraUnmatchedKey(key, key.Contains(".lora_magnitude_vector", StringComparison.Ordinal)
                    ? "PEFT's DoRA magnitude (lora_magnitude_vector), which ComfyUI maps to no weight: its lora_A/lora_B pair applies as a plain LoRA, here as there"
                    : "not a key this reader knows (LoRA/LoCon up, down, mid; LoHa hada_*; LoKr lokr_*; GLoRA a1/a2/b1/b2; OFT/BOFT oft_blocks, rescale; alpha; "
                    + "dora_scale; LyCORIS's whole-weight diff, diff_b, w_norm, b_norm, set_weight)"));
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
            group.Roles[role] = key;
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
            if (target is not { } found)
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
                var weights = (network switch { LoraNetwork.UNet => unet, LoraNetwork.TextEncoder => textEncoder, _ => textEncoder2 })!;
                SetAside(file, group, unmatched);
                if (group.Roles.Keys.Any(IsWhole))
                {
                    if (!group.Roles.Keys.Any(r => !IsWhole(r) && r is not (Role.Alpha or Role.DoraScale)))
                    {
                        Whole(file, module, group, network, weight, weights, seen, modules, unmatched);
                        continue;
                    }

                    // A LoRA-family update of the weight with diff_b / b_norm on the layer's bias: both apply, as in ComfyUI.
                    var biases = new Group(group.Kohya);
                    foreach (var role in group.Roles.Keys.Where(IsWhole).ToList())
                    {
                        biases.Keys.Add(group.Roles[role]);
                        biases.Roles[role] = group.Roles[role];
                        group.Keys.Remove(group.Roles[role]);
                        group.Roles.Remove(role);
                    }

                    Whole(file, module, biases, network, weight, weights, seen, modules, unmatched);
                }

                (matched, problem) = Build(file, module, group, network, weight, weights[weight]);
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

    private static bool IsWhole(Role role) => role is Role.Diff or Role.DiffBias or Role.NormWeight or Role.NormBias or Role.SetWeight;

    // Keys ComfyUI reads but that change nothing. Its load_lora keeps one patch per weight, assigned in this order: the
    // LoRA-family update (with its alpha and dora_scale), w_norm, diff, set_weight — so the last one present replaces the
    // others; for the bias b_norm (read only beside w_norm), then diff_b. OFT's rescale is read and never applied.
    private static void SetAside(SafetensorsFile file, Group group, List<LoraUnmatchedKey> unmatched)
    {
        var replaced = new List<(Role Role, string Reason)>();
        if (new[] { Role.SetWeight, Role.Diff, Role.NormWeight }.Where(group.Roles.ContainsKey).Select(r => (Role?)r).FirstOrDefault() is { } last)
        {
            var name = WholeName(last);
            replaced.AddRange(group.Roles.Keys.Where(r => r != last && r is not (Role.DiffBias or Role.NormBias))
                .Select(r => (r, $"{name} replaces this module's weight and ComfyUI assigns it after this key's update, so this key changes nothing")));
        }

        if (group.Roles.ContainsKey(Role.NormBias))
        {
            if (!group.Roles.ContainsKey(Role.NormWeight))
                replaced.Add((Role.NormBias, "b_norm without w_norm: ComfyUI reads b_norm only beside its module's w_norm"));
            else if (group.Roles.ContainsKey(Role.DiffBias))
                replaced.Add((Role.NormBias, "diff_b replaces this module's bias and ComfyUI assigns it after b_norm, so this key changes nothing"));
        }

        if (replaced.Count == 0 && group.Roles.TryGetValue(Role.Rescale, out _) && group.Roles.TryGetValue(Role.OftBlocks, out var blocks)
            && file.Tensors[blocks].Shape.Length == 3)
        {
            replaced.Add((Role.Rescale, "OFT's rescale: ComfyUI's OFT merge reads it but never applies it (only BOFT's does), so it is not applied here either"));
        }

        foreach (var (role, reason) in replaced)
        {
            unmatched.Add(new LoraUnmatchedKey(group.Roles[role], reason));
            group.Keys.Remove(group.Roles[role]);
            group.Roles.Remove(role);
        }
    }

    private static string WholeName(Role role) => role switch { Role.SetWeight => "set_weight", Role.Diff => "diff", _ => "w_norm" };

    // LyCORIS's whole-weight changes, as ComfyUI's "diff" patches: diff and w_norm add to the weight, diff_b and b_norm to
    // the layer's bias, each times the strength; the tensor must have the weight's shape (trailing 1-axes aside).
    private static void Whole(
        SafetensorsFile file, string module, Group group, LoraNetwork network, string weight, IReadOnlyDictionary<string, IReadOnlyList<long>> weights,
        HashSet<(LoraNetwork, string)> seen, List<LoraModule> modules, List<LoraUnmatchedKey> unmatched)
    {
        var bias = weight[..^".weight".Length] + ".bias";
        foreach (var (role, key) in group.Roles)
        {
            var target = role is Role.Diff or Role.NormWeight or Role.SetWeight ? weight : bias;
            var tensor = file.Tensors[key];
            string? problem = null;
            if (role is Role.Alpha or Role.DoraScale)
            {
                problem = $"{(role == Role.Alpha ? "alpha" : "dora_scale")} belongs to a LoRA-family update; module '{module}' holds whole-weight changes only";
            }
            else if (!weights.TryGetValue(target, out var shape))
            {
                problem = $"the model has no weight '{target}'";
            }
            else if (!SafetensorsDTypes.ConvertsToFloat32(tensor.DType))
            {
                problem = $"'{key}' is {SafetensorsDTypes.Name(tensor.DType)}, not floating point";
            }
            else if (!Trimmed(tensor.Shape).SequenceEqual(Trimmed(shape)))
            {
                problem = $"{tensor.ShapeText} is not the shape of '{target}' [{string.Join(",", shape)}]";
            }
            else if (target != weight && !seen.Add((network, target)))
            {
                // The weight itself was claimed for this module by the caller; a bias is claimed here.
                problem = $"a second module for weight '{target}'";
            }
            else
            {
                modules.Add(new LoraModule(network, target, module, role == Role.SetWeight ? new ReplacementFactors(key) : new WholeFactors(key), shape));
                continue;
            }

            unmatched.Add(new LoraUnmatchedKey(key, problem));
        }
    }

    private static IEnumerable<long> Trimmed(IReadOnlyList<long> shape) => shape.Reverse().SkipWhile(d => d == 1).Reverse();

    private static (LoraModule?, string?) Build(SafetensorsFile file, string module, Group group, LoraNetwork network, string weight, IReadOnlyList<long> shape)
    {
        var roles = group.Roles;
        foreach (var (role, key) in roles)
        {
            if (role != Role.Alpha && !SafetensorsDTypes.ConvertsToFloat32(file.Tensors[key].DType))
            {
                return (null, $"'{key}' is {SafetensorsDTypes.Name(file.Tensors[key].DType)}, not floating point");
            }

            if (role != Role.Alpha && file.Tensors[key].Shape.Any(d => d is < 1 or > int.MaxValue))
            {
                return (null, $"'{key}' {file.Tensors[key].ShapeText} has an empty or oversized axis");
            }
        }

        if (shape.Count < 2)
        {
            return (null, $"weight '{weight}' [{string.Join(",", shape)}] is not a linear or convolution weight");
        }

        var kinds = new[]
        {
            roles.Keys.Any(r => r is Role.Up or Role.Down or Role.Mid) ? "LoRA" : null,
            roles.Keys.Any(r => r is >= Role.HadaW1A and <= Role.HadaT2) ? "LoHa" : null,
            roles.Keys.Any(r => r is >= Role.LokrW1 and <= Role.LokrT2) ? "LoKr" : null,
            roles.Keys.Any(r => r is >= Role.GloraA1 and <= Role.GloraB2) ? "GLoRA" : null,
            roles.Keys.Any(r => r is Role.OftBlocks or Role.Rescale) ? "OFT" : null,
        }.OfType<string>().ToArray();
        var (factors, problem) = kinds switch
        {
            ["LoRA"] => LowRank(file, module, roles, weight, shape),
            ["LoHa"] => Hadamard(file, module, roles, weight, shape),
            ["LoKr"] => Kronecker(file, module, roles, weight, shape),
            ["GLoRA"] => Generalized(file, module, roles, weight, shape),
            ["OFT"] => Orthogonal(file, module, roles, weight, shape),
            [] => (null, $"module '{module}' has no factors, only {string.Join(" and ", roles.Keys.Select(r => r == Role.Alpha ? "alpha" : "dora_scale"))}"),
            _ => (null, $"module '{module}' mixes {string.Join(" and ", kinds)} keys"),
        };
        if (factors is null)
        {
            return (null, problem);
        }

        var matched = new LoraModule(network, weight, module, factors, shape);
        if (roles.TryGetValue(Role.DoraScale, out var doraKey))
        {
            var dora = file.Tensors[doraKey];
            if (!SafetensorsDTypes.ConvertsToFloat32(dora.DType) || DoraScaling.OnOutputAxis(dora.Shape, shape) is not { } outputAxis)
            {
                return (null, $"dora_scale {dora.ShapeText} {SafetensorsDTypes.Name(dora.DType)} fits weight '{weight}' [{string.Join(",", shape)}] on neither axis ([out, 1] or [1, in])");
            }

            matched = matched with { DoraScaleKey = doraKey, DoraOnOutputAxis = outputAxis };
        }

        return (matched, null);
    }

    private static (LoraFactors?, string?) LowRank(SafetensorsFile file, string module, Dictionary<Role, string> roles, string weight, IReadOnlyList<long> shape)
    {
        if (!roles.TryGetValue(Role.Up, out var upKey) || !roles.TryGetValue(Role.Down, out var downKey))
        {
            return (null, $"module '{module}' has no {(roles.ContainsKey(Role.Up) ? "down" : "up")} matrix");
        }

        var up = file.Tensors[upKey];
        var down = file.Tensors[downKey];
        if (down.Shape.Length < 2 || up.Shape.Length < 2 || up.Shape.Skip(2).Any(d => d != 1) || down.Shape[0] != up.Shape[1] || down.Shape[0] == 0)
        {
            return (null, $"up {up.ShapeText} and down {down.ShapeText} are not a low-rank pair (up [out, rank(,1,1)], down [rank, in(,kh,kw)])");
        }

        var rank = down.Shape[0];
        string? midKey = null;
        if (roles.TryGetValue(Role.Mid, out var midName))
        {
            // LyCORIS's Tucker LoCon: down is 1×1 [rank, in], mid [rank, rank, kh, kw].
            var mid = file.Tensors[midName];
            if (shape.Count != 4 || mid.Shape.Length != 4 || mid.Shape[0] != rank || mid.Shape[1] != rank || mid.Shape[2] * mid.Shape[3] != shape[2] * shape[3]
                || down.ElementCount != rank * shape[1] || up.Shape[0] != shape[0])
            {
                return (null, $"up {up.ShapeText}, mid {mid.ShapeText} and down {down.ShapeText} do not fit weight '{weight}' [{string.Join(",", shape)}] as a Tucker LoCon");
            }

            midKey = midName;
        }
        else if (up.Shape[0] != shape[0] || down.ElementCount / rank != LoraFactors.Columns(shape))
        {
            return (null, $"up {up.ShapeText} · down {down.ShapeText} does not fit weight '{weight}' [{string.Join(",", shape)}]");
        }

        var (scale, problem) = AlphaScale(file, roles, rank);
        return problem is null ? (new LowRankFactors(upKey, downKey, midKey, roles.GetValueOrDefault(Role.Alpha), (int)rank, scale), null) : (null, problem);
    }

    private static (LoraFactors?, string?) Hadamard(SafetensorsFile file, string module, Dictionary<Role, string> roles, string weight, IReadOnlyList<long> shape)
    {
        Role[] needed = [Role.HadaW1A, Role.HadaW1B, Role.HadaW2A, Role.HadaW2B];
        if (needed.Where(r => !roles.ContainsKey(r)).Select(r => (Role?)r).FirstOrDefault() is { } missing)
        {
            return (null, $"module '{module}' has no {Suffix(missing)}");
        }

        if (roles.ContainsKey(Role.HadaT1) != roles.ContainsKey(Role.HadaT2))
        {
            return (null, $"module '{module}' has one Tucker core of two (hada_t1, hada_t2)");
        }

        var tucker = roles.ContainsKey(Role.HadaT1);
        var ranks = new int[2];
        foreach (var (pair, (a, b, t)) in new[] { (Role.HadaW1A, Role.HadaW1B, Role.HadaT1), (Role.HadaW2A, Role.HadaW2B, Role.HadaT2) }.Index())
        {
            var (wa, wb) = (file.Tensors[roles[a]], file.Tensors[roles[b]]);
            bool fits;
            if (tucker)
            {
                var core = file.Tensors[roles[t]];
                fits = shape.Count == 4 && core.Shape.Length == 4 && wa.Shape.Length == 2 && wb.Shape.Length == 2
                    && wa.Shape[0] == core.Shape[0] && wa.Shape[1] == shape[0] && wb.Shape[0] == core.Shape[1] && wb.Shape[1] == shape[1]
                    && core.Shape[2] * core.Shape[3] == shape[2] * shape[3];
            }
            else
            {
                fits = wa.Shape.Length == 2 && wb.Shape.Length >= 2 && wa.Shape[0] == shape[0] && wa.Shape[1] == wb.Shape[0] && wb.Shape[0] > 0
                    && wb.ElementCount / wb.Shape[0] == LoraFactors.Columns(shape);
            }

            if (!fits)
            {
                return (null, $"{Suffix(a)} {wa.ShapeText} and {Suffix(b)} {wb.ShapeText}{(tucker ? $" with {Suffix(t)} {file.Tensors[roles[t]].ShapeText}" : "")} do not fit weight '{weight}' [{string.Join(",", shape)}]");
            }

            ranks[pair] = (int)(tucker ? wa.Shape[0] : wb.Shape[0]);
        }

        // ComfyUI: alpha over the rows of hada_w1_b.
        var (scale, problem) = AlphaScale(file, roles, file.Tensors[roles[Role.HadaW1B]].Shape[0]);
        return problem is null
            ? (new HadamardFactors(roles[Role.HadaW1A], roles[Role.HadaW1B], roles[Role.HadaW2A], roles[Role.HadaW2B], roles.GetValueOrDefault(Role.HadaT1), roles.GetValueOrDefault(Role.HadaT2),
                roles.GetValueOrDefault(Role.Alpha), ranks[0], ranks[1], scale), null)
            : (null, problem);
    }

    private static (LoraFactors?, string?) Kronecker(SafetensorsFile file, string module, Dictionary<Role, string> roles, string weight, IReadOnlyList<long> shape)
    {
        SafetensorsTensor? Get(Role role) => roles.TryGetValue(role, out var key) ? file.Tensors[key] : null;
        var (w1, w1a, w1b, w2, w2a, w2b, t2) = (Get(Role.LokrW1), Get(Role.LokrW1A), Get(Role.LokrW1B), Get(Role.LokrW2), Get(Role.LokrW2A), Get(Role.LokrW2B), Get(Role.LokrT2));
        var fits = $"do not fit weight '{weight}' [{string.Join(",", shape)}]";
        (int, int)? first = w1 is { Shape.Length: 2 } ? ((int)w1.Shape[0], (int)w1.Shape[1])
            : w1 is null && w1a is { Shape.Length: 2 } && w1b is { Shape.Length: 2 } && w1a.Shape[1] == w1b.Shape[0] ? ((int)w1a.Shape[0], (int)w1b.Shape[1]) : null;
        if (first is not { } s1)
        {
            return (null, $"module '{module}' has no w1 that LoKr takes (lokr_w1 [a, b], or lokr_w1_a [a, r] with lokr_w1_b [r, b])");
        }

        (int, int)? second;
        if (w2 is { Shape.Length: >= 2 } && w2a is null && w2b is null)
        {
            second = ((int)w2.Shape[0], (int)(w2.ElementCount / w2.Shape[0]));
        }
        else if (w2 is null && t2 is not null && w2a is { Shape.Length: 2 } && w2b is { Shape.Length: 2 } && shape.Count == 4 && t2.Shape.Length == 4
                 && t2.Shape[0] == w2a.Shape[0] && t2.Shape[1] == w2b.Shape[0] && t2.Shape[2] * t2.Shape[3] == shape[2] * shape[3])
        {
            second = ((int)w2a.Shape[1], (int)(w2b.Shape[1] * shape[2] * shape[3]));
        }
        else if (w2 is null && t2 is null && w2a is { Shape.Length: 2 } && w2b is { Shape.Length: >= 2 } && w2a.Shape[1] == w2b.Shape[0])
        {
            second = ((int)w2a.Shape[0], (int)(w2b.ElementCount / w2b.Shape[0]));
        }
        else
        {
            return (null, $"module '{module}' has no w2 that LoKr takes (lokr_w2, or lokr_w2_a with lokr_w2_b, and lokr_t2 for a Tucker core)");
        }

        var s2 = second.Value;
        if ((long)s1.Item1 * s2.Item1 != shape[0] || (long)s1.Item2 * s2.Item2 != LoraFactors.Columns(shape))
        {
            return (null, $"w1 [{s1.Item1},{s1.Item2}] ⊗ w2 [{s2.Item1},{s2.Item2}] {fits}");
        }

        // ComfyUI: alpha over the rank of the decomposed factor, w2's when both are; no decomposed factor, no alpha.
        long? dim = w2b is not null ? w2b.Shape[0] : w1b?.Shape[0];
        var (scale, problem) = dim is { } rank ? AlphaScale(file, roles, rank) : (1f, null);
        return problem is null
            ? (new KroneckerFactors(roles.GetValueOrDefault(Role.LokrW1), roles.GetValueOrDefault(Role.LokrW1A), roles.GetValueOrDefault(Role.LokrW1B), roles.GetValueOrDefault(Role.LokrW2),
                roles.GetValueOrDefault(Role.LokrW2A), roles.GetValueOrDefault(Role.LokrW2B), roles.GetValueOrDefault(Role.LokrT2), roles.GetValueOrDefault(Role.Alpha), s1, s2,
                w1a is null ? 0 : (int)w1a.Shape[1], w2a is null ? 0 : (int)(t2 is null ? w2a.Shape[1] : w2a.Shape[0]), scale), null)
            : (null, problem);
    }

    private static (LoraFactors?, string?) Generalized(SafetensorsFile file, string module, Dictionary<Role, string> roles, string weight, IReadOnlyList<long> shape)
    {
        Role[] needed = [Role.GloraA1, Role.GloraA2, Role.GloraB1, Role.GloraB2];
        if (needed.Where(r => !roles.ContainsKey(r)).Select(r => (Role?)r).FirstOrDefault() is { } missing)
        {
            return (null, $"module '{module}' has no {Suffix(missing)}");
        }

        var (a1, a2, b1, b2) = (file.Tensors[roles[Role.GloraA1]].Shape, file.Tensors[roles[Role.GloraA2]].Shape, file.Tensors[roles[Role.GloraB1]].Shape, file.Tensors[roles[Role.GloraB2]].Shape);
        var fits = $"a1 {Text(a1)}, a2 {Text(a2)}, b1 {Text(b1)} and b2 {Text(b2)} do not fit weight '{weight}' [{string.Join(",", shape)}]";
        if (new[] { a1, a2, b1, b2 }.Any(s => s.Length < 2))
        {
            return (null, fits + " (each has at least two axes)");
        }

        // ComfyUI tells the layouts apart by these axes; both hold only for a square weight, where a2's rows decide.
        var old = b2[1] == b1[0] && b1[0] == a1[0] && a1[0] == a2[1];
        var rank = a1[0];
        if (b2[0] == b1[1] && b1[1] == a1[1] && a1[1] == a2[0] && !(old && a2[0] == shape[0] && shape[0] == shape[1]))
        {
            (old, rank) = (false, a2[0]);
        }
        else if (!old)
        {
            return (null, fits + " in either GLoRA layout");
        }

        long Rows(long[] s) => s[0];
        long Columns(long[] s) => s.Skip(1).Aggregate(1L, (x, y) => x * y);
        var (output, inputs, columns) = (shape[0], shape[1], LoraFactors.Columns(shape));
        var ok = old
            ? (Rows(b2), Columns(b2), Rows(b1), Columns(b1), Rows(a2), Columns(a2), Rows(a1), Columns(a1)) == (output, rank, rank, columns, columns, rank, rank, columns)
            : (Rows(a1), Columns(a1), Rows(a2), Columns(a2), Rows(b1), Columns(b1), Rows(b2), Columns(b2)) == (inputs, rank, rank, inputs, output, rank, rank, columns);
        if (!ok)
        {
            return (null, $"{fits} as {(old ? "old LyCORIS GLoRA (b2 [out, r], b1 [r, in], a2 [in, r], a1 [r, in])" : "GLoRA (a1 [in, r], a2 [r, in], b1 [out, r], b2 [r, in])")}");
        }

        var (scale, problem) = AlphaScale(file, roles, rank);
        return problem is null
            ? (new GeneralizedFactors(roles[Role.GloraA1], roles[Role.GloraA2], roles[Role.GloraB1], roles[Role.GloraB2], roles.GetValueOrDefault(Role.Alpha), old, (int)rank, scale), null)
            : (null, problem);
    }

    private static (LoraFactors?, string?) Orthogonal(SafetensorsFile file, string module, Dictionary<Role, string> roles, string weight, IReadOnlyList<long> shape)
    {
        if (!roles.TryGetValue(Role.OftBlocks, out var blocksKey))
        {
            return (null, $"module '{module}' has rescale but no oft_blocks");
        }

        var blocks = file.Tensors[blocksKey].Shape;
        var fits = $"oft_blocks {Text(blocks)} do not fit weight '{weight}' [{string.Join(",", shape)}]";
        if (blocks.Length is not (3 or 4))
        {
            return (null, $"oft_blocks {Text(blocks)} is neither OFT's [blocks, size, size] nor BOFT's [stages, blocks, size, size]");
        }

        var (count, size) = (blocks[^3], blocks[^2]);
        if (blocks[^1] != size)
        {
            return (null, $"oft_blocks {Text(blocks)} are not square blocks");
        }

        if (count * size != shape[0])
        {
            return (null, $"{fits}: {count} blocks of {size} rows are not its {shape[0]} output rows");
        }

        // alpha is OFT's norm constraint, not a scale.
        var (constraint, problem) = AlphaScale(file, roles, 1);
        if (problem is not null)
        {
            return (null, problem);
        }

        if (blocks.Length == 3)
        {
            return (new OrthogonalFactors(blocksKey, roles.GetValueOrDefault(Role.Alpha), (int)count, (int)size, constraint), null);
        }

        // BOFT: stage i regroups runs of 2^(i+1) · ⌊size / 2⌋ rows, which must divide the rows.
        var stages = blocks[0];
        for (var stage = 0; stage < stages; stage++)
        {
            var run = stage < 32 ? size / 2 * 2 * (1L << stage) : 0;
            if (run == 0 || run > shape[0] || shape[0] % run != 0)
            {
                return (null, $"{fits} as BOFT: stage {stage} regroups runs of 2^{stage + 1} · {size / 2} rows, which do not divide its {shape[0]} output rows");
            }
        }

        if (!roles.TryGetValue(Role.Alpha, out var alphaKey))
        {
            return (null, $"module '{module}' is BOFT without alpha: ComfyUI's BOFT merge compares the missing alpha with 0, fails and leaves the weight as it is");
        }

        string? rescaleKey = null;
        if (roles.TryGetValue(Role.Rescale, out var rescaleName))
        {
            var rescale = file.Tensors[rescaleName].Shape;
            if (rescale.Length != shape.Count || rescale[0] != shape[0] || rescale.Skip(1).Any(d => d != 1))
            {
                return (null, $"rescale {Text(rescale)} is not one factor per output row of weight '{weight}' [{string.Join(",", shape)}] ([out, 1(, 1, 1)])");
            }

            rescaleKey = rescaleName;
        }

        return (new ButterflyFactors(blocksKey, rescaleKey, alphaKey, (int)stages, (int)count, (int)size, constraint), null);
    }

    private static string Text(long[] shape) => "[" + string.Join(",", shape) + "]";

    // alpha / rank, 1 without alpha.
    private static (float Scale, string? Problem) AlphaScale(SafetensorsFile file, Dictionary<Role, string> roles, long rank)
    {
        if (!roles.TryGetValue(Role.Alpha, out var alphaKey))
        {
            return (1f, null);
        }

        var alpha = file.Tensors[alphaKey];
        if (alpha.ElementCount != 1 || !SafetensorsDTypes.ConvertsToFloat32(alpha.DType))
        {
            return (1f, $"alpha {alpha.ShapeText} {SafetensorsDTypes.Name(alpha.DType)} is not one floating-point number");
        }

        var scale = file.ReadFloat32(alphaKey)[0] / rank;
        return float.IsFinite(scale) ? (scale, null) : (1f, "alpha is not a finite number");
    }

    private static string Suffix(Role role) => KohyaSuffixes.First(s => s.Role == role).Suffix[1..];

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
            if (name.EndsWith(".weight", StringComparison.Ordinal))
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

        public Dictionary<Role, string> Roles { get; } = [];
    }
}
