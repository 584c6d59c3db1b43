using System.Globalization;

namespace FlowDiffusion.Engine.Plugins;

/// <summary>A version range as manifests write it: space-separated comparators (<c>&gt;=0.1.0 &lt;1.0.0</c>), or <c>^0.1.0</c>.</summary>
public sealed class VersionRange
{
    private readonly List<(string Op, Version Version)> _terms;
    private readonly string _text;

    private VersionRange(string text, List<(string, Version)> terms)
    {
        _text = text;
        _terms = terms;
    }

    /// <summary>Parses a range.</summary>
    /// <exception cref="FormatException">The text is not a range.</exception>
    public static VersionRange Parse(string text)
    {
        var terms = new List<(string, Version)>();
        foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var op = new[] { ">=", "<=", ">", "<", "=", "^" }.FirstOrDefault(part.StartsWith) ?? "=";
            var version = ParseVersion(part[(part.StartsWith(op, StringComparison.Ordinal) ? op.Length : 0)..]);
            if (op == "^")
            {
                terms.Add((">=", version));
                terms.Add(("<", version.Major > 0 ? new Version(version.Major + 1, 0, 0) : new Version(0, version.Minor + 1, 0)));
            }
            else
            {
                terms.Add((op, version));
            }
        }
        if (terms.Count == 0) throw new FormatException($"'{text}' is not a version range");
        return new VersionRange(text, terms);
    }

    /// <summary>Whether <paramref name="version"/> is in the range.</summary>
    public bool Contains(Version version)
    {
        var v = new Version(version.Major, version.Minor, Math.Max(0, version.Build));
        return _terms.All(t => t.Op switch
        {
            ">=" => v >= t.Version,
            "<=" => v <= t.Version,
            ">" => v > t.Version,
            "<" => v < t.Version,
            _ => v == t.Version,
        });
    }

    /// <inheritdoc />
    public override string ToString() => _text;

    private static Version ParseVersion(string text)
    {
        var core = text.Split('-', '+')[0];
        var parts = core.Split('.').Select(p => int.Parse(p, NumberStyles.None, CultureInfo.InvariantCulture)).ToList();
        while (parts.Count < 3) parts.Add(0);
        return new Version(parts[0], parts[1], parts[2]);
    }
}
