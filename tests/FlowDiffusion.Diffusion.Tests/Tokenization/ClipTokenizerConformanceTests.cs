using FlowDiffusion.Diffusion.Tokenization;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Tokenization;

public sealed class ClipTokenizerConformanceTests
{
    public static IEnumerable<object[]> PublishedCases() => TokenizerTestData.Cases("clip_cases.json");

    // Ids from a Python port of clip/simple_tokenizer.py over the same files, for inputs ftfy leaves unchanged.
    public static IEnumerable<object[]> ReferencePortCases() => TokenizerTestData.Cases("clip_extra_cases.json");

    [SkippableTheory]
    [MemberData(nameof(PublishedCases))]
    public void EncodeToIds_matches_published_clip_ids(string name, string text, int[] expected)
    {
        Assert.Equal(expected, ClipVocabularyFiles.Tokenizer().EncodeToIds(text));
        Assert.NotNull(name);
    }

    [SkippableTheory]
    [MemberData(nameof(ReferencePortCases))]
    public void EncodeToIds_matches_clip_on_unicode_emoji_whitespace_and_punctuation(string name, string text, int[] expected)
    {
        Assert.Equal(expected, ClipVocabularyFiles.Tokenizer().EncodeToIds(text));
        Assert.NotNull(name);
    }

    [SkippableFact]
    public void Real_vocabulary_reports_clip_special_ids_and_sizes()
    {
        var tokenizer = ClipVocabularyFiles.Tokenizer();

        Assert.Equal((49406, 49407, 49407, 77, 49408),
            (tokenizer.BosId, tokenizer.EosId, tokenizer.PadId, tokenizer.MaxLength, tokenizer.VocabularySize));
    }

    [SkippableFact]
    public void Encode_pairs_ids_with_vocabulary_strings()
    {
        var encoding = ClipVocabularyFiles.Tokenizer().Encode("A photo of a cat!");

        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 256, 49407], encoding.Ids);
        Assert.Equal(["<|startoftext|>", "a</w>", "photo</w>", "of</w>", "a</w>", "cat</w>", "!</w>", "<|endoftext|>"], encoding.Tokens);
    }

    [SkippableFact]
    public void Prompt_is_padded_to_77_with_end_of_text_for_sd1()
    {
        var chunk = Assert.Single(ClipVocabularyFiles.Tokenizer().EncodePrompt("a photo of a cat").Chunks);

        int[] expected = [49406, 320, 1125, 539, 320, 2368, .. Enumerable.Repeat(49407, 71)];
        Assert.Equal(expected, chunk.Ids);
        Assert.All(chunk.Weights, w => Assert.Equal(1f, w));
    }

    [SkippableFact]
    public void Decode_restores_words_and_skips_special_tokens()
    {
        var tokenizer = ClipVocabularyFiles.Tokenizer();

        Assert.Equal("a photo of a cat !", tokenizer.Decode(tokenizer.EncodeToIds("A photo of a cat!")));
        Assert.Equal("café über naïve 🐱", tokenizer.Decode(tokenizer.EncodeToIds("café über naïve 🐱")));
        Assert.StartsWith("<|startoftext|>a ", tokenizer.Decode([49406, 320, 49407], skipSpecialTokens: false));
    }

    [SkippableFact]
    public void Weighted_tokens_keep_the_ids_of_plain_text_where_segments_split_at_words()
    {
        var tokenizer = ClipVocabularyFiles.Tokenizer();

        var chunk = tokenizer.EncodePrompt("a (photo:1.5) of a [cat]").Chunks[0];

        Assert.Equal(tokenizer.EncodeToIds("a photo of a cat"), chunk.Ids.Take(7));
        Assert.Equal([1f, 1f, 1.5f, 1f, 1f, (float)(1 / 1.1), 1f, 1f], chunk.Weights.Take(8));
    }
}
