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
            if (IndexAfter(name, prefix) is { } index)
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

    /// <summary>The index right after <paramref name="prefix"/> in <paramref name="name"/> (<c>prefix3.</c> → 3), or null.</summary>
    public static int? IndexAfter(string name, string prefix)
    {
        if (!name.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = name.AsSpan(prefix.Length);
        var dot = rest.IndexOf('.');
        return dot > 0 && int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : null;
    }
}
