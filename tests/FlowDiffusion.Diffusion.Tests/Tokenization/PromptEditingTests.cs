using FlowDiffusion.Diffusion.Tokenization;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Tokenization;

/// <summary>
/// A1111's prompt editing and alternation against the schedules its prompt_parser documents for 10 steps (its doctests),
/// and the step it conditions on at each model evaluation (reconstruct_cond_batch).
/// </summary>
public sealed class PromptEditingTests
{
    // A1111's doctest cases (get_learned_conditioning_prompt_schedules([p], 10)), as (last step, text) pairs.
    public static TheoryData<string, string> A1111Schedules => new()
    {
        { "a [b:3]", "3:a |10:a b" },
        { "a [b: 3]", "3:a |10:a b" },
        { "a [[[b]]:2]", "2:a |10:a [[b]]" },
        { "[(a:2):3]", "3:|10:(a:2)" },
        { "a [b : c : 1] d", "1:a b  d|10:a  c  d" },
        { "a[b:[c:d:2]:1]e", "1:abe|2:ace|10:ade" },
        { "a [b:.5] c", "5:a  c|10:a b c" },
        { "((a][:b:c [d:3]", "3:((a][:b:c |10:((a][:b:c d" },
        { "[a|(b:1.1)]", "1:a|2:(b:1.1)|3:a|4:(b:1.1)|5:a|6:(b:1.1)|7:a|8:(b:1.1)|9:a|10:(b:1.1)" },
        { "[fe|]male", "1:female|2:male|3:female|4:male|5:female|6:male|7:female|8:male|9:female|10:male" },
        { "[fe|||]male", "1:female|2:male|3:male|4:male|5:female|6:male|7:male|8:male|9:female|10:male" },
        // A1111's "new" scheduling: a number with a decimal point is a fraction (1.5 × 10 → past the end), one without a step.
        { "a [b:1.5] c", "10:a  c" },
        { "a [b:c:4.0] d", "10:a b d" },
        { "[a:b:0.35]", "3:a|10:b" },
        { "fantasy landscape with a [mountain:lake:0.25] and [an oak:a christmas tree:0.75][ in foreground::0.6][ in background:0.25] [shoddy:masterful:0.5]",
            "2:fantasy landscape with a mountain and an oak in foreground shoddy|5:fantasy landscape with a lake and an oak in foreground in background shoddy"
            + "|6:fantasy landscape with a lake and an oak in foreground in background masterful|7:fantasy landscape with a lake and an oak in background masterful"
            + "|10:fantasy landscape with a lake and a christmas tree in background masterful" },
    };

    [Theory]
    [MemberData(nameof(A1111Schedules))]
    public void Schedules_match_A1111s_documented_ones(string prompt, string expected)
    {
        var editing = PromptEditing.Parse(prompt);
        Assert.NotNull(editing);
        Assert.Equal(expected, string.Join("|", editing.Schedule(10).Select(e => $"{e.EndStep}:{e.Text}")));
    }

    [Theory]
    [InlineData("test")]
    [InlineData("a [unbalanced")]
    [InlineData("a (weighted:1.2) [less] prompt")]
    [InlineData("a | b")] // '|' outside brackets: A1111's grammar fails and the prompt is used as written
    [InlineData("a [b|c")]
    public void Prompts_without_edits_or_that_do_not_parse_stay_as_written(string prompt) => Assert.Null(PromptEditing.Parse(prompt));

    [Fact]
    public void Each_evaluation_takes_the_first_entry_whose_last_step_is_not_below_it_and_past_the_end_the_first()
    {
        // 10 steps, [red:blue:0.5]: entries (5, red), (10, blue). Evaluations are 0-based, as A1111's denoiser counts them.
        var editing = PromptEditing.Parse("a [red:blue:0.5] ball")!;
        Assert.Equal(["a red ball", "a blue ball"], editing.Variants);
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], Enumerable.Range(0, 10).Select(i => editing.VariantAt(i, 10)));
        Assert.Equal(1, editing.VariantAt(10, 10));
        Assert.Equal(0, editing.VariantAt(11, 10)); // past the last entry: A1111 falls back to the first
        // Alternation: evaluation 0 and 1 both take step 1's text.
        var alternating = PromptEditing.Parse("[cat|dog]")!;
        Assert.Equal([0, 0, 1, 0, 1, 0], Enumerable.Range(0, 6).Select(i => alternating.VariantAt(i, 6)));
    }

    [Fact]
    public void Too_many_texts_and_deep_nesting_are_bounded()
    {
        var many = string.Concat(Enumerable.Range(0, 7).Select(i => $"[a{i}|b{i}] "));
        var error = Assert.Throws<ArgumentException>(() => PromptEditing.Parse(many));
        Assert.Contains("more than 64 different prompts", error.Message, StringComparison.Ordinal);

        // 10,000 unmatched brackets parse quickly, as text.
        var brackets = new string('[', 10_000) + "a";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(PromptEditing.Parse(brackets));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{clock.Elapsed}");
        Assert.NotNull(PromptEditing.Parse(new string('[', 100) + "a:b:3" + new string(']', 100)));
    }
}
