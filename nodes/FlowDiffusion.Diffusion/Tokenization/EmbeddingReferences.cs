using System.Text.RegularExpressions;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// Finds textual-inversion references in prompt text: <c>embedding:name</c> (ComfyUI; the name runs to the next space
/// or comma and may carry a <c>.safetensors</c>/<c>.pt</c> extension) and the bare embedding name as a word of its own
/// (A1111; matched case-insensitively, as A1111 matches it after CLIP's lower-casing).
/// </summary>
public static partial class EmbeddingReferences
{
    /// <summary>Splits <paramref name="text"/> into plain text and embedding references (IsEmbedding, Text the name).</summary>
    public static IReadOnlyList<(string Text, bool IsEmbedding)> Split(string text, IReadOnlyCollection<string> names)
    {
        var bare = names.Count == 0 ? null : new Regex(
            @"(?<![\p{L}\p{N}_\-:])(" + string.Join("|", names.OrderByDescending(n => n.Length).Select(Regex.Escape)) + @")(?![\p{L}\p{N}_\-])",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        var parts = new List<(string, bool)>();
        var last = 0;
        foreach (Match m in Explicit().Matches(text))
        {
            AddBare(parts, text[last..m.Index], bare, names);
            parts.Add((NameOf(m.Groups[1].Value), true));
            last = m.Index + m.Length;
        }

        AddBare(parts, text[last..], bare, names);
        return parts;
    }

    private static void AddBare(List<(string, bool)> parts, string text, Regex? bare, IReadOnlyCollection<string> names)
    {
        var last = 0;
        if (bare is not null)
        {
            foreach (Match m in bare.Matches(text))
            {
                parts.Add((text[last..m.Index], false));
                // The name as the file spells it.
                parts.Add((names.First(n => string.Equals(n, m.Value, StringComparison.OrdinalIgnoreCase)), true));
                last = m.Index + m.Length;
            }
        }

        parts.Add((text[last..], false));
    }

    private static string NameOf(string reference)
    {
        var name = reference.Replace('\\', '/');
        name = name[(name.LastIndexOf('/') + 1)..];
        foreach (var extension in new[] { ".safetensors", ".pt", ".bin" })
        {
            if (name.EndsWith(extension, StringComparison.OrdinalIgnoreCase))
            {
                return name[..^extension.Length];
            }
        }

        return name;
    }

    [GeneratedRegex(@"embedding:([^\s,]+)", RegexOptions.CultureInvariant)]
    private static partial Regex Explicit();
}
