using FlowDiffusion.Diffusion.Tokenization;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Tokenization;

/// <summary>Windows over the tiny vocabulary: BOS 0, EOS 1, red 515, cat 517, d o g 69 80 328; the model folder pads with '!' (2) to 16.</summary>
public sealed class PromptEncoderTests
{
    private const int Red = 515;
    private const int Cat = 517;

    private static ClipTokenizer Sixteen() => ClipTokenizer.FromFolder(TokenizerTestData.Path("tiny-model"));

    [Fact]
    public void Short_prompt_is_one_window_with_eos_after_the_last_token_then_padding()
    {
        var chunk = Assert.Single(Sixteen().EncodePrompt("red cat").Chunks);

        Assert.Equal([0, Red, Cat, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], chunk.Ids);
        Assert.All(chunk.Weights, w => Assert.Equal(1f, w));
    }

    [Fact]
    public void Empty_prompt_is_one_window_of_bos_eos_and_padding()
    {
        var chunk = Assert.Single(TokenizerTestData.Tiny().EncodePrompt("").Chunks);

        Assert.Equal([0, .. Enumerable.Repeat(1, 76)], chunk.Ids);
        Assert.Equal(77, chunk.Weights.Count);
    }

    [Fact]
    public void Weights_follow_their_tokens_and_special_positions_stay_one()
    {
        var chunk = Sixteen().EncodePrompt("(red:1.5) [cat] dog").Chunks[0];

        Assert.Equal([0, Red, Cat, 69, 80, 328, 1, 2], chunk.Ids.Take(8));
        Assert.Equal([1f, 1.5f, (float)(1 / 1.1), 1f, 1f, 1f, 1f, 1f], chunk.Weights.Take(8));
    }

    [Fact]
    public void Long_prompts_split_into_windows_of_max_length_minus_two_tokens()
    {
        var prompt = string.Join(' ', Enumerable.Repeat("red", 20)) + " (cat:2)";

        var chunks = Sixteen().EncodePrompt(prompt).Chunks;

        Assert.Equal(2, chunks.Count);
        Assert.Equal([0, .. Enumerable.Repeat(Red, 14), 1], chunks[0].Ids);
        Assert.Equal([0, .. Enumerable.Repeat(Red, 6), Cat, 1, 2, 2, 2, 2, 2, 2, 2], chunks[1].Ids);
        Assert.Equal(2f, chunks[1].Weights[7]);
        Assert.All(chunks, c => Assert.Equal(16, c.Ids.Count));
    }

    [Fact]
    public void Exactly_a_full_window_of_tokens_stays_one_window()
    {
        var chunks = TokenizerTestData.Tiny().EncodePrompt(string.Join(' ', Enumerable.Repeat("red", 75))).Chunks;

        var chunk = Assert.Single(chunks);
        Assert.Equal(1, chunk.Ids[76]);
    }

    [Fact]
    public void One_token_over_a_window_starts_a_second_one()
    {
        var chunks = TokenizerTestData.Tiny().EncodePrompt(string.Join(' ', Enumerable.Repeat("red", 76))).Chunks;

        Assert.Equal(2, chunks.Count);
        Assert.Equal([0, Red, 1, 1], chunks[1].Ids.Take(4));
    }

    [Fact]
    public void Break_starts_a_new_window()
    {
        var chunks = Sixteen().EncodePrompt("red BREAK cat").Chunks;

        Assert.Equal(2, chunks.Count);
        Assert.Equal([0, Red, 1, 2], chunks[0].Ids.Take(4));
        Assert.Equal([0, Cat, 1, 2], chunks[1].Ids.Take(4));
    }

    [Fact]
    public void Windows_cannot_be_changed_through_the_result()
    {
        var chunk = Sixteen().EncodePrompt("red").Chunks[0];

        Assert.False(chunk.Ids is int[]);
        Assert.Throws<NotSupportedException>(() => ((IList<int>)chunk.Ids)[0] = 5);
    }

    [Fact]
    public void Tokenize_wraps_the_windows_as_sdk_tokens()
    {
        var tokens = Sixteen().Tokenize("(red) cat");

        Assert.Equal("(red) cat", tokens.Text);
        Assert.Equal([1f, 1.1f, 1f, 1f], Assert.Single(tokens.Chunks).Weights.Take(4));
    }
}
