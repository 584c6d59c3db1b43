using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// Where the weights of our graphs go in an SD 1.x LDM or SDXL SGM single file (what ComfyUI's CheckpointSave writes): the way back
/// from <see cref="LdmKeyMap"/>. Each canonical (diffusers) name is given a candidate key (the UNet's through
/// <see cref="LdmUNetNames"/>, the text encoder's under <see cref="LdmKeyMap.TextEncoderPrefix"/>, the VAE's by LDM's
/// block names) and the whole key set is then read back through <see cref="LdmKeyMap.Map"/>, the importer itself: a weight
/// is placed only where the importer would take it from, so the importer stays the one source of the layout, and a
/// weight it would not read back is reported instead of written. Shapes go back to the stored layout the same way
/// (the VAE attention's [C, C] to LDM's 1×1 convolution [C, C, 1, 1]).
/// </summary>
public static partial class LdmCheckpointLayout
{
    /// <summary>
    /// The key and stored shape of every weight of <paramref name="weights"/> (part, canonical name, shape), and the
    /// weights that have none: names the importer does not read, or a shape it would not read back.
    /// <paramref name="openClipPrefix"/> makes it SDXL's SGM layout: the first text tower under
    /// <see cref="LdmKeyMap.SdxlTextEncoderPrefix"/> and the second (<see cref="ModelPart.TextEncoder2"/>) in OpenCLIP's
    /// layout under that prefix (<see cref="OpenClipKeyMap.Prefix"/>, or <see cref="OpenClipKeyMap.RefinerPrefix"/> for the
    /// refiner), q, k and v sharing the fused <c>in_proj</c> by rows and <c>text_projection</c> transposed; without it the
    /// second tower has no place.
    /// </summary>
    public static (IReadOnlyList<LdmPlacement> Placed, IReadOnlyList<(ModelPart Part, string Name)> Unplaced) Place(
        IReadOnlyList<(ModelPart Part, string Name, long[] Shape)> weights, string? openClipPrefix = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var unetKeys = LdmUNetNames.Of([.. weights.Where(w => w.Part == ModelPart.UNet).Select(w => w.Name)]);
        var levels = weights.Where(w => w.Part == ModelPart.Vae).Select(w => DownBlock().Match(w.Name)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max() + 1;
        var candidates = new List<(LdmPlacement Placement, long[] Canonical)>();
        var unplaced = new List<(ModelPart, string)>();
        foreach (var (part, name, shape) in weights)
        {
            var key = part switch
            {
                ModelPart.UNet => unetKeys.TryGetValue(name, out var k) ? LdmKeyMap.UNetPrefix + k : null,
                ModelPart.TextEncoder => name.StartsWith(TextModel, StringComparison.Ordinal)
                    ? (openClipPrefix is null ? LdmKeyMap.TextEncoderPrefix : LdmKeyMap.SdxlTextEncoderPrefix) + name[TextModel.Length..]
                    : null,
                ModelPart.Vae => VaeKey(name, levels) is { } v ? LdmKeyMap.VaePrefix + v : null,
                _ => null,
            };
            if (part == ModelPart.TextEncoder2 && openClipPrefix is not null && OpenClipPlacement(name, shape, openClipPrefix) is { } openClip)
            {
                candidates.Add((openClip, shape));
                continue;
            }

            if (key is null)
            {
                unplaced.Add((part, name));
                continue;
            }

            candidates.Add((new LdmPlacement(part, name, key, StoredShape(part, name, shape)), shape));
        }

        // The importer's reading of the keys decides: a candidate stays only if it reads back as its own weight and shape.
        var readBack = LdmKeyMap.Map([.. candidates.Where(c => c.Placement.Part != ModelPart.TextEncoder2).Select(c => c.Placement.Key)], "the saved checkpoint");
        var openClipKeys = candidates.Where(c => c.Placement.Part == ModelPart.TextEncoder2).GroupBy(c => c.Placement.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(c => c.Placement.Name).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        var placed = new List<LdmPlacement>();
        foreach (var (candidate, canonical) in candidates)
        {
            var readsBack = candidate.Part == ModelPart.TextEncoder2
                ? ReadsBackFromOpenClip(candidate, canonical, openClipPrefix!, openClipKeys[candidate.Key])
                : readBack.TryGetValue(candidate.Key, out var back) && back.Part == candidate.Part && back.Name == candidate.Name
                    && CheckpointWeights.CanonicalShape(candidate.Part, candidate.Name, candidate.Shape).SequenceEqual(canonical);
            if (readsBack)
            {
                placed.Add(candidate);
            }
            else
            {
                unplaced.Add((candidate.Part, candidate.Name));
            }
        }

        return (placed, unplaced);
    }

    // The importer's OpenCLIP reading of the candidate's key gives back its weight: name, shape, rows and orientation; a
    // fused key is kept only when every weight the importer reads from it is written into it (q, k and v alike).
    private static bool ReadsBackFromOpenClip(LdmPlacement candidate, long[] canonical, string prefix, HashSet<string> sharing)
    {
        var readings = OpenClipKeyMap.Read(candidate.Key[prefix.Length..], candidate.Shape).ToList();
        return readings.Count == sharing.Count && readings.All(r => sharing.Contains(r.Name))
            && readings.Any(r => r.Name == candidate.Name && r.Shape.SequenceEqual(canonical) && r.Rows == candidate.Rows && r.Transposed == candidate.Transposed);
    }

    // The OpenCLIP key for a second-tower weight (transformers CLIP name), inverting OpenClipKeyMap's tables.
    private static LdmPlacement? OpenClipPlacement(string name, long[] shape, string prefix)
    {
        LdmPlacement Whole(string key) => new(ModelPart.TextEncoder2, name, prefix + key, shape);
        switch (name)
        {
            case "text_model.embeddings.token_embedding.weight":
                return Whole("token_embedding.weight");
            case "text_model.embeddings.position_embedding.weight":
                return Whole("positional_embedding");
            case "text_model.final_layer_norm.weight" or "text_model.final_layer_norm.bias":
                return Whole("ln_final." + name["text_model.final_layer_norm.".Length..]);
            case "text_projection.weight" when shape.Length == 2:
                return new LdmPlacement(ModelPart.TextEncoder2, name, prefix + "text_projection", [shape[1], shape[0]]) { Transposed = true };
        }

        var m = OpenClipLayer().Match(name);
        if (!m.Success)
        {
            return null;
        }

        var block = $"transformer.resblocks.{m.Groups[1].Value}.";
        var module = m.Groups[2].Value;
        var kind = m.Groups[3].Value;
        var fused = Array.IndexOf(OpenClipKeyMap.FusedNames, module.StartsWith("self_attn.", StringComparison.Ordinal) ? module["self_attn.".Length..] : "");
        if (fused >= 0 && shape.Length >= 1)
        {
            return new LdmPlacement(ModelPart.TextEncoder2, name, $"{prefix}{block}attn.in_proj_{kind}", [shape[0] * 3, .. shape.Skip(1)])
            {
                Rows = (fused * shape[0], shape[0]),
            };
        }

        var ldm = OpenClipKeyMap.LayerModules.FirstOrDefault(p => p.Value == module).Key;
        return ldm is null ? null : Whole($"{block}{ldm}.{kind}");
    }

    private const string TextModel = "text_model.";

    // The layout the importer reads as this shape: LDM's 1×1-convolution VAE attention where our graph holds [C, C].
    private static long[] StoredShape(ModelPart part, string name, long[] shape)
    {
        long[] convolution = [.. shape, 1, 1];
        return shape.Length == 2 && CheckpointWeights.CanonicalShape(part, name, convolution).SequenceEqual(shape) ? convolution : shape;
    }

    // LDM's VAE names for a diffusers one (levels: the encoder's down blocks, which number the decoder's up blocks backwards).
    private static string? VaeKey(string name, int levels)
    {
        var m = VaeAttention().Match(name);
        if (m.Success)
        {
            var module = LdmKeyMap.VaeAttentionModules.FirstOrDefault(p => p.Value == m.Groups[2].Value).Key;
            return module is null ? null : $"{m.Groups[1].Value}.mid.attn_1.{module}.{m.Groups[3].Value}";
        }

        m = VaeMidResnet().Match(name);
        if (m.Success)
        {
            return $"{m.Groups[1].Value}.mid.block_{int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) + 1}.{Shortcut(m.Groups[3].Value)}";
        }

        m = DownBlock().Match(name);
        if (m.Success)
        {
            return m.Groups[2].Value == "resnets"
                ? $"encoder.down.{m.Groups[1].Value}.block.{m.Groups[3].Value}.{Shortcut(m.Groups[4].Value)}"
                : m.Groups[4].Value.StartsWith("conv.", StringComparison.Ordinal) ? $"encoder.down.{m.Groups[1].Value}.downsample.{m.Groups[4].Value}" : null;
        }

        m = UpBlock().Match(name);
        if (m.Success)
        {
            var level = levels - 1 - int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            return level < 0 ? null : m.Groups[2].Value == "resnets"
                ? $"decoder.up.{level}.block.{m.Groups[3].Value}.{Shortcut(m.Groups[4].Value)}"
                : m.Groups[4].Value.StartsWith("conv.", StringComparison.Ordinal) ? $"decoder.up.{level}.upsample.{m.Groups[4].Value}" : null;
        }

        m = NormOut().Match(name);
        return m.Success ? $"{m.Groups[1].Value}.norm_out.{m.Groups[2].Value}" : name;
    }

    private static string Shortcut(string rest) => rest.StartsWith("conv_shortcut.", StringComparison.Ordinal) ? "nin_shortcut." + rest["conv_shortcut.".Length..] : rest;

    [GeneratedRegex(@"^text_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex OpenClipLayer();

    [GeneratedRegex(@"^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(weight|bias)$")]
    private static partial Regex VaeAttention();

    [GeneratedRegex(@"^(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.*)$")]
    private static partial Regex VaeMidResnet();

    [GeneratedRegex(@"^encoder\.down_blocks\.(\d+)\.(resnets|downsamplers)\.(\d+)\.(.*)$")]
    private static partial Regex DownBlock();

    [GeneratedRegex(@"^decoder\.up_blocks\.(\d+)\.(resnets|upsamplers)\.(\d+)\.(.*)$")]
    private static partial Regex UpBlock();

    [GeneratedRegex(@"^(encoder|decoder)\.conv_norm_out\.(.*)$")]
    private static partial Regex NormOut();
}
