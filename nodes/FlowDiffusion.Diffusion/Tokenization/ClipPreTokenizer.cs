using System.Text;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// Splits cleaned text like CLIP's pattern
/// <c>&lt;|startoftext|&gt;|&lt;|endoftext|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>,
/// taking the first alternative that matches at each position and dropping whitespace between pieces.
/// Scanned by code point rather than with .NET's regex, whose classes see UTF-16 halves, so letters and
/// digits beyond the Basic Multilingual Plane group as they do in Python.
/// </summary>
internal static class ClipPreTokenizer
{
    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    /// <summary>The pieces of <paramref name="text"/>, in order.</summary>
    public static List<string> Split(string text, IReadOnlyList<string> specialTokens)
    {
        var pieces = new List<string>();
        var position = 0;
        while (position < text.Length)
        {
            var rest = text.AsSpan(position);
            var kind = Classify(rest, out var width);
            if (kind == SymbolKind.Space)
            {
                position += width;
                continue;
            }
            var length = MatchSpecialOrContraction(rest, specialTokens);
            if (length == 0)
            {
                length = width;
                if (kind != SymbolKind.Number)
                {
                    // Letters run on while letters follow; other symbols run on while other symbols follow.
                    while (length < rest.Length && Classify(rest[length..], out var next) == kind)
                        length += next;
                }
            }
            pieces.Add(text.Substring(position, length));
            position += length;
        }
        return pieces;
    }

    private static int MatchSpecialOrContraction(ReadOnlySpan<char> rest, IReadOnlyList<string> specialTokens)
    {
        foreach (var special in specialTokens)
        {
            if (rest.StartsWith(special, StringComparison.OrdinalIgnoreCase))
                return special.Length;
        }
        if (rest[0] != '\'')
            return 0;
        foreach (var contraction in Contractions)
        {
            if (rest.StartsWith(contraction, StringComparison.OrdinalIgnoreCase))
                return contraction.Length;
        }
        return 0;
    }

    private static SymbolKind Classify(ReadOnlySpan<char> text, out int width)
    {
        if (Rune.DecodeFromUtf16(text, out var rune, out width) != System.Buffers.OperationStatus.Done)
            return SymbolKind.Other;
        if (Rune.IsLetter(rune))
            return SymbolKind.Letter;
        if (Rune.IsNumber(rune))
            return SymbolKind.Number;
        return Rune.IsWhiteSpace(rune) ? SymbolKind.Space : SymbolKind.Other;
    }

    private enum SymbolKind
    {
        Letter,
        Number,
        Space,
        Other,
    }
}
