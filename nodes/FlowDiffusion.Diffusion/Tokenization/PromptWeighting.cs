using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// The prompt-weight syntax of AUTOMATIC1111 and ComfyUI: <c>(text:1.3)</c> sets a weight, <c>(text)</c> multiplies
/// by 1.1 and <c>[text]</c> divides by 1.1, nesting multiplies, <c>\(</c> <c>\)</c> <c>\[</c> <c>\]</c> are literal
/// brackets, an unclosed bracket weights the rest of the prompt, a stray closing bracket is text, and the word
/// <c>BREAK</c> starts a new 77-token window.
/// </summary>
public static partial class PromptWeighting
{
    /// <summary>Text of the segment that marks a <c>BREAK</c>.</summary>
    public const string BreakText = "BREAK";

    /// <summary>Weight of the segment that marks a <c>BREAK</c>; no text segment carries a negative weight from brackets.</summary>
    public const float BreakWeight = -1f;

    private const double RoundMultiplier = 1.1;
    private const double SquareMultiplier = 1 / 1.1;

    /// <summary>
    /// Splits <paramref name="prompt"/> into runs of text with their weights, merging neighbours of equal
    /// weight. A prompt without text yields one empty segment of weight 1.
    /// </summary>
    /// <example><c>an (important) word</c> → (<c>an </c>, 1), (<c>important</c>, 1.1), (<c> word</c>, 1).</example>
    public static IReadOnlyList<(string Text, float Weight)> Parse(string prompt)
    {
        var segments = new List<Segment>();
        var roundOpen = new Stack<int>();
        var squareOpen = new Stack<int>();
        foreach (Match match in Syntax().Matches(prompt))
        {
            var text = match.Value;
            var weight = match.Groups["weight"];
            if (text[0] == '\\')
                segments.Add(new Segment(text[1..], 1.0));
            else if (text == "(")
                roundOpen.Push(segments.Count);
            else if (text == "[")
                squareOpen.Push(segments.Count);
            else if (weight.Success && roundOpen.Count > 0 && TryParseWeight(weight.Value, out var explicitWeight))
                Multiply(segments, roundOpen.Pop(), explicitWeight);
            else if (text == ")" && roundOpen.Count > 0)
                Multiply(segments, roundOpen.Pop(), RoundMultiplier);
            else if (text == "]" && squareOpen.Count > 0)
                Multiply(segments, squareOpen.Pop(), SquareMultiplier);
            else
                AddText(segments, text);
        }
        // An unclosed bracket weights everything after it.
        foreach (var start in roundOpen)
            Multiply(segments, start, RoundMultiplier);
        foreach (var start in squareOpen)
            Multiply(segments, start, SquareMultiplier);
        return Merge(segments);
    }

    private static void AddText(List<Segment> segments, string text)
    {
        var parts = BreakKeyword().Split(text);
        for (var i = 0; i < parts.Length; i++)
        {
            if (i > 0)
                segments.Add(new Segment(BreakText, BreakWeight, IsBreak: true));
            segments.Add(new Segment(parts[i], 1.0));
        }
    }

    private static void Multiply(List<Segment> segments, int start, double multiplier)
    {
        for (var i = start; i < segments.Count; i++)
        {
            if (!segments[i].IsBreak)
                segments[i] = segments[i] with { Weight = segments[i].Weight * multiplier };
        }
    }

    private static bool TryParseWeight(string text, out double weight) =>
        double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out weight);

    private static List<(string Text, float Weight)> Merge(List<Segment> segments)
    {
        var merged = new List<Segment>();
        foreach (var segment in segments)
        {
            if (merged.Count > 0 && !segment.IsBreak && !merged[^1].IsBreak && merged[^1].Weight == segment.Weight)
                merged[^1] = merged[^1] with { Text = merged[^1].Text + segment.Text };
            else
                merged.Add(segment);
        }
        if (merged.Count == 0)
            merged.Add(new Segment("", 1.0));
        return merged.Select(s => (s.Text, (float)s.Weight)).ToList();
    }

    // The tokens of A1111's parse_prompt_attention, in its order of preference.
    [GeneratedRegex(@"\\\(|\\\)|\\\[|\\\]|\\\\|\\|\(|\[|:\s*(?<weight>[+-]?[.0-9]+)\s*\)|\)|\]|[^\\()\[\]:]+|:")]
    private static partial Regex Syntax();

    [GeneratedRegex(@"\s*\bBREAK\b\s*", RegexOptions.Singleline)]
    private static partial Regex BreakKeyword();

    private sealed record Segment(string Text, double Weight, bool IsBreak = false);
}
