namespace FlowDiffusion.Models.Tests;

/// <summary>The shipped vocabulary read the way a CLIP tokenizer reads it (oracles/clip/README.md §3), so a pipeline gets one token per prompt word.</summary>
public sealed class PromptVocabularyTests
{
    public static TheoryData<string, string[]> Prompts => new()
    {
        { "red", ["red</w>"] },
        { "A RED Ball", ["a</w>", "red</w>", "ball</w>"] },
        { "a photo of a grey cat, on a white background", ["a</w>", "photo</w>", "of</w>", "a</w>", "grey</w>", "cat</w>", ",</w>", "on</w>", "a</w>", "white</w>", "background</w>"] },
        { "Magenta and Cyan", ["magenta</w>", "and</w>", "cyan</w>"] },
    };

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Prompt_words_are_single_tokens(string prompt, string[] expectedTokens)
    {
        var (tokenizer, vocabulary) = Load("tiny-sd");

        var ids = tokenizer.EncodeWords(prompt);

        Assert.Equal(expectedTokens.Select(t => vocabulary[t]), ids);
    }

    [Theory]
    [InlineData("reddish")]
    [InlineData("redder")]
    [InlineData("bluish")]
    [InlineData("greenery")]
    [InlineData("whitewash")]
    public void A_word_starting_with_a_colour_is_not_the_colour_token(string word)
    {
        var (tokenizer, vocabulary) = Load("analytic-sd");
        var colourIds = new[] { "red", "blue", "green", "white" }.Select(c => vocabulary[c + "</w>"]).ToArray();

        var ids = tokenizer.EncodeWords(word);

        Assert.True(ids.Count > 1);
        Assert.DoesNotContain(ids, colourIds.Contains);
    }

    [Fact]
    public void Vocabulary_follows_clips_id_layout()
    {
        var (_, vocabulary) = Load("analytic-sd");
        var merges = File.ReadAllLines(Path.Combine(RepositoryRoot.Models, "analytic-sd", "tokenizer", "merges.txt"));

        Assert.Equal("#version: 0.2", merges[0]);
        Assert.Equal(0, vocabulary["!"]);
        Assert.Equal(188, vocabulary["\u0100"]);
        Assert.Equal(256, vocabulary["!</w>"]);
        Assert.Equal(512, vocabulary[merges[1].Replace(" ", string.Empty)]);
        Assert.Equal(512 + merges.Length - 1, vocabulary["<|startoftext|>"]);
        Assert.Equal(vocabulary.Count - 1, vocabulary["<|endoftext|>"]);
    }

    private static (ModelTokenizer Tokenizer, Dictionary<string, int> Vocabulary) Load(string model)
    {
        var tokenizer = ModelTokenizer.Load(model);
        return (tokenizer, tokenizer.Vocabulary);
    }
}
