using System.Globalization;
using System.Text;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// ComfyUI's prompt-weight syntax (its <c>token_weights</c>): only round brackets weigh — <c>(text)</c> multiplies by 1.1
/// and <c>(text:1.3)</c> sets the weight to 1.3 (replacing, not multiplying, what encloses it); <c>\(</c> and <c>\)</c> are
/// literal; square brackets and <c>BREAK</c> are plain text; an unclosed bracket is text, weight and all.
/// </summary>
public static class ComfyPromptWeighting
{
    // ComfyUI's escape_important: escaped brackets hidden behind control characters until the segments are cut.
    private const string EscapedClose = "\0\u0001";
    private const string EscapedOpen = "\0\u0002";

    /// <summary>Splits <paramref name="prompt"/> into runs of text with their weights, in order.</summary>
    /// <example><c>a ((b:1.2)) c</c> → (<c>a </c>, 1), (<c>b</c>, 1.2), (<c> c</c>, 1).</example>
    public static IReadOnlyList<(string Text, float Weight)> Parse(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var escaped = prompt.Replace("\\)", EscapedClose, StringComparison.Ordinal).Replace("\\(", EscapedOpen, StringComparison.Ordinal);
        var result = new List<(string, float)>();
        Weights(escaped, 1.0, result, 0);
        return result;
    }

    private static void Weights(string text, double current, List<(string, float)> result, int depth)
    {
        foreach (var part in Groups(text))
        {
            if (part.Length >= 2 && part[0] == '(' && part[^1] == ')' && depth < 256)
            {
                var inner = part[1..^1];
                var weight = current * 1.1;
                var colon = inner.LastIndexOf(':');
                if (colon > 0 && double.TryParse(inner[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var given) && double.IsFinite(given))
                {
                    weight = given;
                    inner = inner[..colon];
                }

                Weights(inner, weight, result, depth + 1);
            }
            else
            {
                result.Add((part.Replace(EscapedClose, ")", StringComparison.Ordinal).Replace(EscapedOpen, "(", StringComparison.Ordinal), (float)current));
            }
        }
    }

    // ComfyUI's parse_parentheses: top-level groups; a ')' without its '(' drives the level below 0 and stays text.
    private static List<string> Groups(string text)
    {
        var groups = new List<string>();
        var current = new StringBuilder();
        var level = 0;
        foreach (var c in text)
        {
            if (c == '(')
            {
                if (level == 0 && current.Length > 0)
                {
                    groups.Add(current.ToString());
                    current.Clear();
                }

                current.Append(c);
                level++;
            }
            else if (c == ')')
            {
                level--;
                current.Append(c);
                if (level == 0)
                {
                    groups.Add(current.ToString());
                    current.Clear();
                }
            }
            else
            {
                current.Append(c);
            }
        }

        if (current.Length > 0) groups.Add(current.ToString());
        return groups;
    }
}
