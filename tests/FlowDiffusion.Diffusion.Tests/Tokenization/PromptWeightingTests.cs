using FlowDiffusion.Diffusion.Tokenization;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Tokenization;

public sealed class PromptWeightingTests
{
    // The examples documented with AUTOMATIC1111's parse_prompt_attention, weights as Python computes them.
    public static TheoryData<string, (string, double)[]> A1111Examples() => new()
    {
        { "normal text", [("normal text", 1.0)] },
        { "an (important) word", [("an ", 1.0), ("important", 1.1), (" word", 1.0)] },
        { "(unbalanced", [("unbalanced", 1.1)] },
        { @"\(literal\]", [("(literal]", 1.0)] },
        { "(unnecessary)(parens)", [("unnecessaryparens", 1.1)] },
        {
            "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
            [("a ", 1.0), ("house", 1.5730000000000004), (" ", 1.1), ("on", 1.0), (" a ", 1.1), ("hill", 0.55),
                (", sun, ", 1.1), ("sky", 1.4641000000000006), (".", 1.1)]
        },
    };

    public static TheoryData<string, (string, double)[]> EdgeCases() => new()
    {
        { "", [("", 1.0)] },
        { "[faded]", [("faded", 1 / 1.1)] },
        { "[[faded]]", [("faded", 1 / 1.1 / 1.1)] },
        { "((a) b)", [("a", 1.1 * 1.1), (" b", 1.1)] },
        { "(red:0.0)", [("red", 0.0)] },
        { "( red : 1.25 ) cat", [(" red ", 1.25), (" cat", 1.0)] },
        { "stray) close] brackets", [("stray) close] brackets", 1.0)] },
        { "ratio 16:9 and a:b", [("ratio 16:9 and a:b", 1.0)] },
        { "(time: 12:30)", [("time: 12", 30.0)] },
        { "weight:1.2) without open", [("weight:1.2) without open", 1.0)] },
        { @"a \\ b \ c", [(@"a \ b  c", 1.0)] },
        { "(a [b) c]", [("a ", 1.1), ("b", 1.1 * (1 / 1.1)), (" c", 1 / 1.1)] },
        { "[unclosed square", [("unclosed square", 1 / 1.1)] },
    };

    [Theory]
    [MemberData(nameof(A1111Examples))]
    public void Parse_matches_a1111_documented_examples(string prompt, (string, double)[] expected) =>
        AssertSegments(expected, PromptWeighting.Parse(prompt));

    [Theory]
    [MemberData(nameof(EdgeCases))]
    public void Parse_handles_nesting_escapes_colons_and_unbalanced_brackets(string prompt, (string, double)[] expected) =>
        AssertSegments(expected, PromptWeighting.Parse(prompt));

    [Fact]
    public void Break_keyword_becomes_a_marker_segment_that_brackets_do_not_weight()
    {
        var segments = PromptWeighting.Parse("(red BREAK cat)");

        Assert.Equal(
            [("red", 1.1f), (PromptWeighting.BreakText, PromptWeighting.BreakWeight), ("cat", 1.1f)],
            segments);
    }

    [Fact]
    public void Break_inside_a_word_is_text()
    {
        Assert.Equal([("BREAKFAST", 1f)], PromptWeighting.Parse("BREAKFAST"));
    }

    private static void AssertSegments((string, double)[] expected, IReadOnlyList<(string Text, float Weight)> actual) =>
        Assert.Equal(expected.Select(e => (e.Item1, (float)e.Item2)).ToArray(), actual.ToArray());
}
