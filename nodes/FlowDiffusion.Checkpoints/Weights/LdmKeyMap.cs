using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// Renames the keys of an LDM (CompVis) single-file checkpoint to the diffusers names the builders use:
/// <c>model.diffusion_model.input_blocks.4.1.proj_in</c> → UNet <c>down_blocks.1.attentions.0.proj_in</c>, and so on.
/// Block indices depend on the blocks per level, which the keys themselves show (a downsampler ends a level).
/// </summary>
public static partial class LdmKeyMap
{
    /// <summary>The UNet's key prefix in an LDM checkpoint.</summary>
    public const string UNetPrefix = "model.diffusion_model.";

    /// <summary>The VAE's key prefix in an LDM checkpoint.</summary>
    public const string VaePrefix = "first_stage_model.";

    /// <summary>The text encoder's key prefix in an LDM checkpoint (transformers ≥ 4.x layout).</summary>
    public const string TextEncoderPrefix = "cond_stage_model.transformer.text_model.";

    /// <summary>SDXL's first text encoder (CLIP ViT-L) in a single file.</summary>
    public const string SdxlTextEncoderPrefix = "conditioner.embedders.0.transformer.text_model.";

    private const string OldTextEncoderPrefix = "cond_stage_model.transformer.";

    private static readonly (string Ldm, string Diffusers)[] ResBlockNames =
    [
        ("in_layers.0.", "norm1."), ("in_layers.2.", "conv1."), ("emb_layers.1.", "time_emb_proj."),
        ("out_layers.0.", "norm2."), ("out_layers.3.", "conv2."), ("skip_connection.", "conv_shortcut."),
    ];

    /// <summary>LDM's VAE mid-block attention modules (<c>mid.attn_1.q</c>, …) → diffusers' (<c>mid_block.attentions.0.to_q</c>, …), both ways.</summary>
    internal static readonly Dictionary<string, string> VaeAttentionModules = new(StringComparer.Ordinal)
    {
        ["norm"] = "group_norm", ["q"] = "to_q", ["k"] = "to_k", ["v"] = "to_v", ["proj_out"] = "to_out.0",
    };

    /// <summary>Whether the keys look like an LDM single file (any key under the UNet, VAE or text-encoder prefix).</summary>
    public static bool IsLdm(IEnumerable<string> keys) =>
        keys.Any(k => k.StartsWith(UNetPrefix, StringComparison.Ordinal) || k.StartsWith(VaePrefix, StringComparison.Ordinal) || k.StartsWith(OldTextEncoderPrefix, StringComparison.Ordinal)
            || k.StartsWith(SdxlTextEncoderPrefix, StringComparison.Ordinal));

    /// <summary>
    /// Maps every key it knows to (part, diffusers name); keys of no SD 1.x network (EMA copies, schedules, unknown
    /// modules) are left out. A UNet or VAE key inside a known prefix that fits no SD 1.x module is reported.
    /// </summary>
    public static Dictionary<string, (ModelPart Part, string Name)> Map(IReadOnlyCollection<string> keys, string source)
    {
        var map = new Dictionary<string, (ModelPart, string)>(StringComparer.Ordinal);
        var unet = UNetRenamer.From(keys.Where(k => k.StartsWith(UNetPrefix, StringComparison.Ordinal)).Select(k => k[UNetPrefix.Length..]).ToArray());
        var vaeLevels = keys.Where(k => k.StartsWith(VaePrefix, StringComparison.Ordinal)).Select(k => EncoderDown().Match(k[VaePrefix.Length..])).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max() + 1;
        foreach (var key in keys)
        {
            if (key.StartsWith(UNetPrefix, StringComparison.Ordinal))
            {
                map[key] = (ModelPart.UNet, unet.Rename(key[UNetPrefix.Length..]) ?? throw new CheckpointException($"{source}: UNet tensor '{key}' fits no SD 1.x module; is this another family's model (SD3, Flux, …)?"));
            }
            else if (key.StartsWith(TextEncoderPrefix, StringComparison.Ordinal))
            {
                map[key] = (ModelPart.TextEncoder, "text_model." + key[TextEncoderPrefix.Length..]);
            }
            else if (key.StartsWith(SdxlTextEncoderPrefix, StringComparison.Ordinal))
            {
                map[key] = (ModelPart.TextEncoder, "text_model." + key[SdxlTextEncoderPrefix.Length..]);
            }
            else if (key.StartsWith(OldTextEncoderPrefix, StringComparison.Ordinal))
            {
                map[key] = (ModelPart.TextEncoder, "text_model." + key[OldTextEncoderPrefix.Length..]);
            }
            else if (key.StartsWith(VaePrefix, StringComparison.Ordinal))
            {
                if (RenameVae(key[VaePrefix.Length..], vaeLevels) is { } name)
                {
                    map[key] = (ModelPart.Vae, name);
                }
            }
        }

        return map;
    }

    /// <summary>Maps an LDM VAE key (without prefix) to its diffusers name, or null for keys of no VAE module (e.g. the loss's discriminator).</summary>
    public static string? RenameVae(string key, int levels)
    {
        key = NormOut().Replace(key, "$1.conv_norm_out.");
        var m = MidAttention().Match(key);
        if (m.Success)
        {
            return VaeAttentionModules.TryGetValue(m.Groups[2].Value, out var n) ? $"{m.Groups[1].Value}.mid_block.attentions.0.{n}.{m.Groups[3].Value}" : null;
        }

        m = MidBlock().Match(key);
        if (m.Success)
        {
            var index = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) - 1;
            return $"{m.Groups[1].Value}.mid_block.resnets.{index}.{VaeResName(m.Groups[3].Value)}";
        }

        m = DownBlock().Match(key);
        if (m.Success)
        {
            return m.Groups[3].Success
                ? $"encoder.down_blocks.{m.Groups[1].Value}.resnets.{m.Groups[3].Value}.{VaeResName(m.Groups[4].Value)}"
                : $"encoder.down_blocks.{m.Groups[1].Value}.downsamplers.0.conv.{m.Groups[4].Value}";
        }

        m = UpBlock().Match(key);
        if (m.Success)
        {
            var up = levels - 1 - int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            return m.Groups[3].Success
                ? $"decoder.up_blocks.{up}.resnets.{m.Groups[3].Value}.{VaeResName(m.Groups[4].Value)}"
                : $"decoder.up_blocks.{up}.upsamplers.0.conv.{m.Groups[4].Value}";
        }

        return key.StartsWith("encoder.", StringComparison.Ordinal) || key.StartsWith("decoder.", StringComparison.Ordinal)
            || key.StartsWith("quant_conv.", StringComparison.Ordinal) || key.StartsWith("post_quant_conv.", StringComparison.Ordinal)
            ? key
            : null;
    }

    private static string VaeResName(string rest) => rest.StartsWith("nin_shortcut.", StringComparison.Ordinal) ? "conv_shortcut." + rest["nin_shortcut.".Length..] : rest;

    private static string? RenameResBlock(string rest)
    {
        foreach (var (ldm, diffusers) in ResBlockNames)
        {
            if (rest.StartsWith(ldm, StringComparison.Ordinal))
            {
                return diffusers + rest[ldm.Length..];
            }
        }

        return null;
    }

    [GeneratedRegex(@"^encoder\.down\.(\d+)\.")]
    private static partial Regex EncoderDown();

    [GeneratedRegex(@"^(encoder|decoder)\.norm_out\.")]
    private static partial Regex NormOut();

    [GeneratedRegex(@"^(encoder|decoder)\.mid\.attn_1\.(\w+)\.(weight|bias)$")]
    private static partial Regex MidAttention();

    [GeneratedRegex(@"^(encoder|decoder)\.mid\.block_(\d)\.(.*)$")]
    private static partial Regex MidBlock();

    [GeneratedRegex(@"^encoder\.down\.(\d+)\.(block\.(\d+)\.|downsample\.conv\.)(.*)$")]
    private static partial Regex DownBlock();

    [GeneratedRegex(@"^decoder\.up\.(\d+)\.(block\.(\d+)\.|upsample\.conv\.)(.*)$")]
    private static partial Regex UpBlock();

    [GeneratedRegex(@"^(input_blocks|output_blocks)\.(\d+)\.(\d+)\.(.*)$")]
    private static partial Regex UNetBlock();

    [GeneratedRegex(@"^middle_block\.(\d)\.(.*)$")]
    private static partial Regex MiddleBlock();

    /// <summary>The UNet's renaming, which needs the input blocks' level structure read from the keys first.</summary>
    private sealed class UNetRenamer
    {
        private readonly Dictionary<int, (int Level, int Position, bool Downsampler)> _inputs;
        private readonly int _resBlocks;

        private UNetRenamer(Dictionary<int, (int, int, bool)> inputs, int resBlocks)
        {
            _inputs = inputs;
            _resBlocks = resBlocks;
        }

        public static UNetRenamer From(IReadOnlyCollection<string> keys)
        {
            var set = keys.ToHashSet(StringComparer.Ordinal);
            var indices = keys.Select(k => UNetBlock().Match(k)).Where(m => m.Success && m.Groups[1].Value == "input_blocks")
                .Select(m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)).Where(i => i > 0).Distinct().Order();
            var inputs = new Dictionary<int, (int, int, bool)>();
            int level = 0, position = 0;
            foreach (var i in indices)
            {
                if (set.Contains($"input_blocks.{i}.0.op.weight"))
                {
                    inputs[i] = (level++, 0, true);
                    position = 0;
                }
                else
                {
                    inputs[i] = (level, position++, false);
                }
            }

            return new UNetRenamer(inputs, Math.Max(1, inputs.Values.Count(v => v.Item1 == 0 && !v.Item3)));
        }

        public string? Rename(string key)
        {
            switch (key)
            {
                case var _ when key.StartsWith("time_embed.0.", StringComparison.Ordinal):
                    return "time_embedding.linear_1." + key["time_embed.0.".Length..];
                case var _ when key.StartsWith("time_embed.2.", StringComparison.Ordinal):
                    return "time_embedding.linear_2." + key["time_embed.2.".Length..];
                case var _ when key.StartsWith("label_emb.0.0.", StringComparison.Ordinal):
                    return "add_embedding.linear_1." + key["label_emb.0.0.".Length..]; // SDXL's pooled-text and size conditioning
                case var _ when key.StartsWith("label_emb.0.2.", StringComparison.Ordinal):
                    return "add_embedding.linear_2." + key["label_emb.0.2.".Length..];
                case var _ when key.StartsWith("input_blocks.0.0.", StringComparison.Ordinal):
                    return "conv_in." + key["input_blocks.0.0.".Length..];
                case var _ when key.StartsWith("out.0.", StringComparison.Ordinal):
                    return "conv_norm_out." + key["out.0.".Length..];
                case var _ when key.StartsWith("out.2.", StringComparison.Ordinal):
                    return "conv_out." + key["out.2.".Length..];
            }

            var m = MiddleBlock().Match(key);
            if (m.Success)
            {
                var rest = m.Groups[2].Value;
                return m.Groups[1].Value switch
                {
                    "0" => RenameResBlock(rest) is { } r0 ? "mid_block.resnets.0." + r0 : null,
                    "1" => "mid_block.attentions.0." + rest,
                    "2" => RenameResBlock(rest) is { } r1 ? "mid_block.resnets.1." + r1 : null,
                    _ => null,
                };
            }

            m = UNetBlock().Match(key);
            if (!m.Success)
            {
                return null;
            }

            var index = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            var sub = m.Groups[3].Value;
            var tail = m.Groups[4].Value;
            if (m.Groups[1].Value == "input_blocks")
            {
                if (!_inputs.TryGetValue(index, out var block))
                {
                    return null;
                }

                if (block.Downsampler)
                {
                    return tail.StartsWith("op.", StringComparison.Ordinal) ? $"down_blocks.{block.Level}.downsamplers.0.conv.{tail[3..]}" : null;
                }

                return sub == "0"
                    ? RenameResBlock(tail) is { } r ? $"down_blocks.{block.Level}.resnets.{block.Position}.{r}" : null
                    : $"down_blocks.{block.Level}.attentions.{block.Position}.{tail}";
            }

            var up = index / (_resBlocks + 1);
            var position = index % (_resBlocks + 1);
            if (sub == "0")
            {
                return RenameResBlock(tail) is { } r ? $"up_blocks.{up}.resnets.{position}.{r}" : null;
            }

            return tail.StartsWith("conv.", StringComparison.Ordinal)
                ? $"up_blocks.{up}.upsamplers.0.{tail}"
                : $"up_blocks.{up}.attentions.{position}.{tail}";
        }
    }
}
