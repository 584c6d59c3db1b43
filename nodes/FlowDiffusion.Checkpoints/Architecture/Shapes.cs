using System.Globalization;

namespace FlowDiffusion.Checkpoints.Architecture;

/// <summary>Counting numbered modules in tensor names.</summary>
internal static class Shapes
{
    /// <summary>How many consecutive indices 0, 1, … appear right after <paramref name="prefix"/> in <paramref name="names"/>.</summary>
    public static int CountIndices(IEnumerable<string> names, string prefix)
    {
        var seen = new HashSet<int>();
        foreach (var name in names)
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = name.AsSpan(prefix.Length);
            var dot = rest.IndexOf('.');
            if (dot > 0 && int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                seen.Add(index);
            }
        }

        var count = 0;
        while (seen.Contains(count))
        {
            count++;
        }

        return count;
    }
}
