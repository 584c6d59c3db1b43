using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// AUTOMATIC1111's composable prompts: <c>AND</c> splits a prompt into sub-prompts guided together, and a trailing
/// <c>:number</c> gives a sub-prompt its weight (A1111's <c>get_multicond_prompt_list</c>; its regular expressions'
/// rules, so a prompt ending in <c>:2</c> has weight 2 even without <c>AND</c>).
/// </summary>
public static partial class PromptComposition
{
    /// <summary>The most sub-prompts one prompt may have.</summary>
    public const int MaxParts = 16;

    /// <summary>The sub-prompts of <paramref name="prompt"/> with their weights; one of weight 1 for a plain prompt.</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxParts"/> sub-prompts.</exception>
    public static IReadOnlyList<(string Text, float Weight)> Split(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var parts = And().Split(prompt);
        if (parts.Length > MaxParts)
            throw new ArgumentException($"the prompt has {parts.Length} parts joined by AND; at most {MaxParts} are guided together");
        var result = new List<(string, float)>(parts.Length);
        foreach (var part in parts)
        {
            var match = Weight().Match(part);
            if (!match.Success)
            {
                result.Add((part, 1f));
                continue;
            }

            var weight = match.Groups["weight"].Success ? float.Parse(match.Groups["weight"].Value, NumberStyles.Float, CultureInfo.InvariantCulture) : 1f;
            result.Add((match.Groups["text"].Value, weight));
        }

        return result;
    }

    [GeneratedRegex(@"\bAND\b")]
    private static partial Regex And();

    [GeneratedRegex(@"^(?<text>\s*.*?)(?:\s*:\s*(?<weight>[-+]?(?:\d+\.?|\d*\.\d+)))?\s*$")]
    private static partial Regex Weight();
}
