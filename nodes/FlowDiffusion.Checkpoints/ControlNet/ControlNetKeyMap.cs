using System.Globalization;
using System.Text.RegularExpressions;
using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.ControlNet;

/// <summary>
/// Renames the keys of an original (LDM, <c>cldm.py</c>) ControlNet to diffusers' ControlNetModel names: the encoder copy
/// (<c>time_embed</c>, SDXL's <c>label_emb</c>, <c>input_blocks</c>, <c>middle_block</c>) as a UNet's (<see cref="LdmKeyMap"/>),
/// <c>input_hint_block.{0,2,…}</c> → <c>controlnet_cond_embedding.conv_in</c>, <c>blocks.i</c>, <c>conv_out</c> (the
/// odd sequential indices are SiLU modules), <c>zero_convs.i.0</c> → <c>controlnet_down_blocks.i</c> and
/// <c>middle_block_out.0</c> → <c>controlnet_mid_block</c>.
/// </summary>
public static partial class ControlNetKeyMap
{
    /// <summary>The ControlNet's key prefix in an original checkpoint.</summary>
    public const string Prefix = "control_model.";

    /// <summary>Whether the keys are an original ControlNet's: with the <c>control_model.</c> prefix or, as some converted files store them, without it.</summary>
    public static bool IsLdm(IEnumerable<string> keys) => LdmPrefix(keys) is not null;

    /// <summary>Whether the keys are a diffusers ControlNetModel's.</summary>
    public static bool IsDiffusers(IEnumerable<string> keys) => keys.Any(k => k.StartsWith("controlnet_cond_embedding.", StringComparison.Ordinal));

    /// <summary>The prefix the original ControlNet's keys carry (<c>control_model.</c> or none), or null when they are not one.</summary>
    public static string? LdmPrefix(IEnumerable<string> keys)
    {
        foreach (var key in keys)
        {
            if (key.StartsWith(Prefix + "input_hint_block.", StringComparison.Ordinal))
            {
                return Prefix;
            }

            if (key.StartsWith("input_hint_block.", StringComparison.Ordinal))
            {
                return "";
            }
        }

        return null;
    }

    /// <summary>Maps every key under <paramref name="prefix"/> to its diffusers name; a key of no ControlNet module is reported.</summary>
    public static Dictionary<string, string> Map(IReadOnlyCollection<string> keys, string prefix, string source)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var inner = keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(k => k[prefix.Length..], k => k, StringComparer.Ordinal);
        var encoder = inner.Keys.Where(IsEncoder).ToArray();
        foreach (var (ldm, (_, name)) in LdmKeyMap.Map(encoder.Select(k => LdmKeyMap.UNetPrefix + k).ToArray(), source))
        {
            map[inner[ldm[LdmKeyMap.UNetPrefix.Length..]]] = name;
        }

        var hints = inner.Keys.Select(k => HintKey().Match(k)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().Order().ToArray();
        foreach (var key in inner.Keys.Where(k => !IsEncoder(k)))
        {
            var m = HintKey().Match(key);
            if (m.Success)
            {
                var position = Array.IndexOf(hints, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
                var module = position == 0 ? "conv_in" : position == hints.Length - 1 ? "conv_out" : $"blocks.{position - 1}";
                map[inner[key]] = $"controlnet_cond_embedding.{module}.{m.Groups[2].Value}";
                continue;
            }

            m = ZeroConvKey().Match(key);
            if (m.Success)
            {
                map[inner[key]] = $"controlnet_down_blocks.{m.Groups[1].Value}.{m.Groups[2].Value}";
                continue;
            }

            m = MiddleOutKey().Match(key);
            if (m.Success)
            {
                map[inner[key]] = $"controlnet_mid_block.{m.Groups[1].Value}";
                continue;
            }

            throw new CheckpointException($"{source}: ControlNet tensor '{inner[key]}' fits no ControlNet module (hint block, encoder, zero convolutions, middle block out).");
        }

        return map;
    }

    private static bool IsEncoder(string key) =>
        key.StartsWith("time_embed.", StringComparison.Ordinal) || key.StartsWith("label_emb.", StringComparison.Ordinal)
        || key.StartsWith("input_blocks.", StringComparison.Ordinal) || key.StartsWith("middle_block.", StringComparison.Ordinal);

    [GeneratedRegex(@"^input_hint_block\.(\d+)\.(weight|bias)$")]
    private static partial Regex HintKey();

    [GeneratedRegex(@"^zero_convs\.(\d+)\.0\.(weight|bias)$")]
    private static partial Regex ZeroConvKey();

    [GeneratedRegex(@"^middle_block_out\.0\.(weight|bias)$")]
    private static partial Regex MiddleOutKey();
}
