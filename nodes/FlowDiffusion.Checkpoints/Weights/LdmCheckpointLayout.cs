using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// Where the weights of our graphs go in an SD 1.x LDM single file (what ComfyUI's CheckpointSave writes): the way back
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
    /// weights that have none: SDXL's second text tower (its fused OpenCLIP layout is not written), names the importer does
    /// not read, or a shape it would not read back.
    /// </summary>
    public static (IReadOnlyList<LdmPlacement> Placed, IReadOnlyList<(ModelPart Part, string Name)> Unplaced) Place(
        IReadOnlyList<(ModelPart Part, string Name, long[] Shape)> weights)
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
                ModelPart.TextEncoder => name.StartsWith(TextModel, StringComparison.Ordinal) ? LdmKeyMap.TextEncoderPrefix + name[TextModel.Length..] : null,
                ModelPart.Vae => VaeKey(name, levels) is { } v ? LdmKeyMap.VaePrefix + v : null,
                _ => null,
            };
            if (key is null)
            {
                unplaced.Add((part, name));
                continue;
            }

            candidates.Add((new LdmPlacement(part, name, key, StoredShape(part, name, shape)), shape));
        }

        // The importer's reading of the keys decides: a candidate stays only if it reads back as its own weight and shape.
        var readBack = LdmKeyMap.Map([.. candidates.Select(c => c.Placement.Key)], "the saved checkpoint");
        var placed = new List<LdmPlacement>();
        foreach (var (candidate, canonical) in candidates)
        {
            if (readBack.TryGetValue(candidate.Key, out var back) && back.Part == candidate.Part && back.Name == candidate.Name
                && CheckpointWeights.CanonicalShape(candidate.Part, candidate.Name, candidate.Shape).SequenceEqual(canonical))
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
