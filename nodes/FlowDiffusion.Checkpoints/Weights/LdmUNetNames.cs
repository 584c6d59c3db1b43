using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// The other way round from <see cref="LdmKeyMap"/>: a UNet's diffusers weight names to their LDM/SGM module names
/// (<c>down_blocks.1.attentions.0.proj_in.weight</c> → <c>input_blocks.4.1.proj_in.weight</c>, without the
/// <c>model.diffusion_model.</c> prefix), which kohya's SDXL LoRAs use. The block numbering follows from the names
/// themselves: res blocks per level, and which up levels' last block has attention (its upsampler is the block's third module).
/// </summary>
public static partial class LdmUNetNames
{
    private static readonly Dictionary<string, string> ResBlockNames = new(StringComparer.Ordinal)
    {
        ["norm1"] = "in_layers.0", ["conv1"] = "in_layers.2", ["time_emb_proj"] = "emb_layers.1",
        ["norm2"] = "out_layers.0", ["conv2"] = "out_layers.3", ["conv_shortcut"] = "skip_connection",
    };

    private static readonly (string Diffusers, string Ldm)[] TopLevel =
    [
        ("time_embedding.linear_1.", "time_embed.0."), ("time_embedding.linear_2.", "time_embed.2."), ("add_embedding.linear_1.", "label_emb.0.0."),
        ("add_embedding.linear_2.", "label_emb.0.2."), ("conv_in.", "input_blocks.0.0."), ("conv_norm_out.", "out.0."), ("conv_out.", "out.2."),
    ];

    /// <summary>Diffusers name → LDM name for every name of <paramref name="names"/> that has one.</summary>
    public static Dictionary<string, string> Of(IReadOnlyCollection<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var resBlocks = names.Select(n => DownResnet().Match(n)).Where(m => m.Success).Select(m => m.Groups[1].Value).Distinct().Count();
        // An up level's upsampler follows its last residual block's attention where that block has one (each output block
        // has or lacks its own in SSD-1B-style decoders).
        var attentionUpLevels = names.Select(n => UpAttention().Match(n)).Where(m => m.Success && int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) == Math.Max(1, resBlocks))
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToHashSet();
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (Rename(name, Math.Max(1, resBlocks), attentionUpLevels) is { } ldm)
            {
                map[name] = ldm;
            }
        }

        return map;
    }

    private static string? Rename(string name, int resBlocks, HashSet<int> attentionUpLevels)
    {
        foreach (var (diffusers, ldm) in TopLevel)
        {
            if (name.StartsWith(diffusers, StringComparison.Ordinal))
            {
                return ldm + name[diffusers.Length..];
            }
        }

        var m = Block().Match(name);
        if (!m.Success)
        {
            return null;
        }

        var (kind, level, module, position, rest) = (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture), m.Groups[5].Value);
        if (kind == "mid_block")
        {
            return module switch
            {
                "resnets" when Res(rest) is { } r => $"middle_block.{position * 2}.{r}",
                "attentions" => $"middle_block.1.{rest}",
                _ => null,
            };
        }

        var l = int.Parse(level, CultureInfo.InvariantCulture);
        if (kind == "down_blocks")
        {
            var first = 1 + (l * (resBlocks + 1));
            return module switch
            {
                "resnets" when Res(rest) is { } r => $"input_blocks.{first + position}.0.{r}",
                "attentions" => $"input_blocks.{first + position}.1.{rest}",
                "downsamplers" when rest.StartsWith("conv.", StringComparison.Ordinal) => $"input_blocks.{first + resBlocks}.0.op.{rest["conv.".Length..]}",
                _ => null,
            };
        }

        var start = l * (resBlocks + 1);
        return module switch
        {
            "resnets" when Res(rest) is { } r => $"output_blocks.{start + position}.0.{r}",
            "attentions" => $"output_blocks.{start + position}.1.{rest}",
            "upsamplers" => $"output_blocks.{start + resBlocks}.{(attentionUpLevels.Contains(l) ? 2 : 1)}.{rest}",
            _ => null,
        };
    }

    private static string? Res(string rest)
    {
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && ResBlockNames.TryGetValue(rest[..dot], out var ldm) ? ldm + rest[dot..] : null;
    }

    [GeneratedRegex(@"^(down_blocks|up_blocks|mid_block)\.?(\d*)\.(resnets|attentions|downsamplers|upsamplers)\.(\d+)\.(.+)$")]
    private static partial Regex Block();

    [GeneratedRegex(@"^down_blocks\.0\.resnets\.(\d+)\.")]
    private static partial Regex DownResnet();

    [GeneratedRegex(@"^up_blocks\.(\d+)\.attentions\.(\d+)\.")]
    private static partial Regex UpAttention();
}
