using FlowDiffusion.Diffusion.Tokenization;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Tokenization;

/// <summary>A1111's AND and sub-prompt weights (get_multicond_prompt_list's regular expressions), worked out by hand.</summary>
public sealed class PromptCompositionTests
{
    [Theory]
    [InlineData("a cat", "a cat|1")]
    [InlineData("a cat AND a dog", "a cat|1; a dog|1")]
    [InlineData("a cat :1.5 AND a dog:0.5", "a cat|1.5; a dog|0.5")]
    [InlineData("a cat:2", "a cat|2")] // a trailing weight needs no AND
    [InlineData("a (cat:1.2)", "a (cat:1.2)|1")] // an emphasis weight is not a sub-prompt weight
    [InlineData("ANDROID AND x", "ANDROID|1; x|1")] // AND only as a word
    [InlineData("a\ncat:2", "a\ncat:2|1")] // A1111's pattern does not cross a line break: no weight
    [InlineData("a cat:-.5", "a cat|-0.5")]
    public void Sub_prompts_and_weights_follow_A1111(string prompt, string expected)
    {
        var parts = PromptComposition.Split(prompt).Select(p => $"{p.Text}|{p.Weight.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        Assert.Equal(expected, string.Join(";", parts));
    }

    [Fact]
    public void More_than_sixteen_parts_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => PromptComposition.Split(string.Join(" AND ", Enumerable.Repeat("x", 17))));
        Assert.Contains("17 parts joined by AND; at most 16", error.Message, StringComparison.Ordinal);
    }
}
