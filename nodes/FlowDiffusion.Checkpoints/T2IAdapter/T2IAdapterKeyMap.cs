using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Checkpoints.T2IAdapter;

/// <summary>
/// A T2I-Adapter's two key layouts and the renaming to the canonical one, TencentARC's original names: <c>conv_in</c> and
/// a flat <c>body.k.{in_conv,block1,block2}</c> (k = level · blocks per level + block). diffusers' T2IAdapter nests them as
/// <c>adapter.conv_in</c>, <c>adapter.body.level.in_conv</c> and <c>adapter.body.level.resnets.block.{block1,block2}</c>.
/// </summary>
public static partial class T2IAdapterKeyMap
{
    /// <summary>Whether the keys are a diffusers T2IAdapter's.</summary>
    public static bool IsDiffusers(IEnumerable<string> keys) => keys.Any(k => k.StartsWith("adapter.body.", StringComparison.Ordinal) && k.Contains(".resnets.", StringComparison.Ordinal));

    /// <summary>Whether the keys are an original (TencentARC) full adapter's.</summary>
    public static bool IsOriginal(IEnumerable<string> keys)
    {
        var set = keys as IReadOnlyCollection<string> ?? keys.ToArray();
        return set.Contains("conv_in.weight") && set.Any(k => k.StartsWith("body.", StringComparison.Ordinal) && k.EndsWith(".block1.weight", StringComparison.Ordinal));
    }

    /// <summary>Whether the keys are a T2I-Adapter's in either layout.</summary>
    public static bool IsAdapter(IReadOnlyCollection<string> keys) => IsDiffusers(keys) || IsOriginal(keys);

    /// <summary>Residual blocks per level in a diffusers file (the resnets of its first level).</summary>
    public static int DiffusersResBlocks(IEnumerable<string> keys) => Architecture.Shapes.CountIndices(keys, "adapter.body.0.resnets.");

    /// <summary>Maps diffusers names to the original ones; a key of no adapter module is reported.</summary>
    public static Dictionary<string, string> FromDiffusers(IReadOnlyCollection<string> keys, int resBlocks, string source)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (key.StartsWith("adapter.conv_in.", StringComparison.Ordinal))
            {
                map[key] = key["adapter.".Length..];
                continue;
            }

            var m = ResnetKey().Match(key);
            if (m.Success)
            {
                var k = (Index(m.Groups[1]) * resBlocks) + Index(m.Groups[2]);
                map[key] = $"body.{k}.{m.Groups[3].Value}.{m.Groups[4].Value}";
                continue;
            }

            m = InConvKey().Match(key);
            if (m.Success)
            {
                map[key] = $"body.{Index(m.Groups[1]) * resBlocks}.in_conv.{m.Groups[2].Value}";
                continue;
            }

            throw new CheckpointException($"{source}: T2I-Adapter tensor '{key}' fits no full-adapter module (conv_in, in_conv, resnets' block1/block2); light adapters are not supported.");
        }

        return map;
    }

    private static int Index(Group group) => int.Parse(group.Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^adapter\.body\.(\d+)\.resnets\.(\d+)\.(block1|block2)\.(weight|bias)$")]
    private static partial Regex ResnetKey();

    [GeneratedRegex(@"^adapter\.body\.(\d+)\.in_conv\.(weight|bias)$")]
    private static partial Regex InConvKey();
}
