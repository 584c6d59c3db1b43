using FlowDiffusion.Diffusion.Tokenization;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Tokenization;

/// <summary>
/// ComfyUI's prompt syntax and window packing (its token_weights, parse_parentheses and tokenize_with_weights), with
/// values worked out by hand from those definitions, against A1111's where they differ. The tiny vocabulary: BOS 0,
/// EOS 1, red 515, cat 517, d o g 69 80 328; windows of 16 pad with '!' (2).
/// </summary>
public sealed class ComfyPromptSyntaxTests
{
    private const int Red = 515;
    private const int Cat = 517;

    [Theory]
    [InlineData("a (b:1.2) c", "a |1;b|1.2; c|1")]
    [InlineData("((b:1.2))", "b|1.2")] // the inner weight replaces (A1111: 1.1 × 1.2)
    [InlineData("((b))", "b|1.21")]
    [InlineData("(b:1.5) (c)", "b|1.5; |1;c|1.1")]
    [InlineData("[b] BREAK c", "[b] BREAK c|1")] // square brackets and BREAK are text
    [InlineData("(a:b)", "a:b|1.1")] // no number after the last colon: the weight is 1.1 and the colon stays
    [InlineData("(a:b:0.5)", "a:b|0.5")]
    [InlineData("\\(a\\) (b)", "(a) |1;b|1.1")]
    [InlineData("(unclosed", "(unclosed|1")] // the bracket stays in the text, unweighted
    [InlineData("a) b (c)", "a) b (c)|1")] // a stray ')' sends the level below 0: the rest is one plain run
    public void Weights_follow_ComfyUIs_rules(string prompt, string expected)
    {
        var parsed = ComfyPromptWeighting.Parse(prompt).Select(p => $"{p.Text}|{Math.Round(p.Weight, 4).ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        Assert.Equal(expected, string.Join(";", parsed));
    }

    [Fact]
    public void A_word_that_does_not_fit_moves_whole_to_the_next_window_where_A1111_splits_it()
    {
        var tokenizer = ClipTokenizer.FromFolder(TokenizerTestData.Path("tiny-model"));
        var prompt = string.Join(' ', Enumerable.Repeat("red", 12)) + " dog"; // 12 + 3 tokens, 14 fit a window of 16

        var comfy = tokenizer.Tokenize(prompt, PromptSyntax.ComfyUI);
        Assert.Equal(2, comfy.Chunks.Count);
        Assert.Equal([0, .. Enumerable.Repeat(Red, 12), 1, 2, 2], comfy.Chunks[0].Ids);
        Assert.Equal([0, 69, 80, 328, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], comfy.Chunks[1].Ids);
        Assert.NotNull(comfy.EmptyWindow);
        Assert.Equal([0, 1, .. Enumerable.Repeat(2, 14)], comfy.EmptyWindow.Ids);

        var a1111 = tokenizer.Tokenize(prompt, PromptSyntax.A1111);
        Assert.Equal([0, .. Enumerable.Repeat(Red, 12), 69, 80, 1], a1111.Chunks[0].Ids);
        Assert.Null(a1111.EmptyWindow);
    }

    [Fact]
    public void A_word_of_eight_tokens_or_more_is_split_across_windows()
    {
        var tokenizer = ClipTokenizer.FromFolder(TokenizerTestData.Path("tiny-model"));
        var word = "dogdogdogdog";
        var wordTokens = tokenizer.EncodeWithoutSpecialTokens(word);
        Assert.True(wordTokens.Count >= 8, $"{word} is {wordTokens.Count} tokens; the test needs a large word");
        var prompt = string.Join(' ', Enumerable.Repeat("red", 10)) + " " + word;

        var comfy = tokenizer.Tokenize(prompt, PromptSyntax.ComfyUI);

        // The window takes 4 of the word's tokens after the 10 reds; the rest start the next window.
        Assert.Equal([0, .. Enumerable.Repeat(Red, 10), .. wordTokens.Take(4), 1], comfy.Chunks[0].Ids);
        Assert.Equal([0, .. wordTokens.Skip(4), 1], comfy.Chunks[1].Ids.Take(wordTokens.Count - 4 + 2));
    }

    [Fact]
    public void Weights_reach_the_tokens_of_their_words()
    {
        var tokenizer = ClipTokenizer.FromFolder(TokenizerTestData.Path("tiny-model"));
        var chunk = tokenizer.Tokenize("((red:1.2)) [cat]", PromptSyntax.ComfyUI).Chunks[0];
        // "[cat]" is text: its brackets are tokens of their own, weight 1.
        Assert.Equal(0, chunk.Ids[0]);
        Assert.Equal(Red, chunk.Ids[1]);
        Assert.Equal(1.2f, chunk.Weights[1]);
        Assert.Contains(Cat, chunk.Ids);
        Assert.True(chunk.Ids.Count(id => id != 2) > 4, "the square brackets were dropped");
        Assert.All(chunk.Weights.Skip(2), w => Assert.Equal(1f, w));
    }
}
