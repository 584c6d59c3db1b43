using FlowDiffusion.Diffusion.Tokenization;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Tokenization;

/// <summary>The shipped test models carry small CLIP-format vocabularies whose ids differ from CLIP's.</summary>
public sealed class ClipTokenizerSmallVocabularyTests
{
    // Tiny vocabulary layout: specials 0 and 1, byte symbols from 2 (ASCII '!' first), the same with </w> from 258.
    private const int Re = 514;
    private const int RedWord = 515;
    private const int CatWord = 517;
    private const int BlueWord = 520;
    private const int AndWord = 522;

    private static int Byte(char c) => c - '!' + 2;

    private static int FinalByte(char c) => Byte(c) + 256;

    [Fact]
    public void Special_ids_and_sizes_come_from_the_files_not_from_clip()
    {
        var tokenizer = TokenizerTestData.Tiny();

        Assert.Equal((0, 1, 1, 77, 523),
            (tokenizer.BosId, tokenizer.EosId, tokenizer.PadId, tokenizer.MaxLength, tokenizer.VocabularySize));
    }

    [Fact]
    public void Words_with_merges_become_one_token_each()
    {
        Assert.Equal([0, RedWord, CatWord, AndWord, BlueWord, 1], TokenizerTestData.Tiny().EncodeToIds("Red cat and  BLUE"));
    }

    [Fact]
    public void Words_missing_from_the_vocabulary_fall_back_to_byte_symbols()
    {
        var tokenizer = TokenizerTestData.Tiny();

        Assert.Equal([0, Byte('d'), Byte('o'), FinalByte('g'), 1], tokenizer.EncodeToIds("dog"));
        Assert.Equal([0, Re, Byte('d'), FinalByte('s'), 1], tokenizer.EncodeToIds("reds"));
        Assert.Equal([0, FinalByte('4'), FinalByte('2'), 1], tokenizer.EncodeToIds("42"));
    }

    [Fact]
    public void Emoji_become_their_utf8_byte_symbols()
    {
        // 🐱 is F0 9F 90 B1: F0 and B1 keep their code points (symbols 172 and 109 of the 188 printable bytes);
        // 9F and 90 are remapped bytes 65 and 50 of 68, after the 188; the last byte carries </w>.
        var ids = TokenizerTestData.Tiny().EncodeToIds("🐱");

        Assert.Equal([0, 2 + 172, 2 + 188 + 65, 2 + 188 + 50, 2 + 256 + 109, 1], ids);
        Assert.Equal("🐱", TokenizerTestData.Tiny().Decode(ids));
    }

    [Fact]
    public void Empty_and_blank_text_give_bos_and_eos_only()
    {
        var tokenizer = TokenizerTestData.Tiny();

        Assert.Equal([0, 1], tokenizer.EncodeToIds(""));
        Assert.Equal([0, 1], tokenizer.EncodeToIds(" \t\n "));
    }

    [Fact]
    public void Literal_special_tokens_map_to_their_ids()
    {
        Assert.Equal([0, RedWord, 1, 0, CatWord, 1], TokenizerTestData.Tiny().EncodeToIds("red<|endoftext|><|startoftext|>cat"));
    }

    [Fact]
    public void Model_folder_uses_its_tokenizer_subfolder_and_config()
    {
        var tokenizer = ClipTokenizer.FromFolder(TokenizerTestData.Path("tiny-model"));

        // special_tokens_map.json overrides tokenizer_config.json's pad token: '!' is the first byte symbol, id 2.
        Assert.Equal((0, 1, 2, 16), (tokenizer.BosId, tokenizer.EosId, tokenizer.PadId, tokenizer.MaxLength));
    }

    [Fact]
    public void Encode_names_each_token()
    {
        var encoding = TokenizerTestData.Tiny().Encode("red dog!");

        Assert.Equal(["<|startoftext|>", "red</w>", "d", "o", "g</w>", "!</w>", "<|endoftext|>"], encoding.Tokens);
    }

    [Fact]
    public void Decode_turns_word_ends_into_spaces()
    {
        var tokenizer = TokenizerTestData.Tiny();

        Assert.Equal("red cat dog", tokenizer.Decode(tokenizer.EncodeToIds("red cat dog")));
    }

    [Fact]
    public void Missing_folder_or_file_is_reported_by_name()
    {
        var missing = Path.Combine(Path.GetTempPath(), "flowdiffusion-no-such-tokenizer");
        Assert.Contains(missing, Assert.Throws<DirectoryNotFoundException>(() => ClipTokenizer.FromFolder(missing)).Message);

        var folder = Directory.CreateTempSubdirectory("flowdiffusion-tokenizer-");
        try
        {
            File.Copy(TokenizerTestData.Path("tiny", "vocab.json"), Path.Combine(folder.FullName, "vocab.json"));
            var error = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromFolder(folder.FullName));
            Assert.Contains("merges.txt", error.Message);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("vocab.json", "[1, 2, 3]", "vocab.json")]
    [InlineData("vocab.json", "{\"a\": 0}", "start-of-text")]
    [InlineData("merges.txt", "#version: 0.2\nr e x\n", "merges.txt:2")]
    [InlineData("tokenizer_config.json", "{ not json", "tokenizer_config.json")]
    public void Corrupt_files_are_reported_by_name(string file, string content, string expectedInMessage)
    {
        var folder = Directory.CreateTempSubdirectory("flowdiffusion-tokenizer-");
        try
        {
            foreach (var name in new[] { "vocab.json", "merges.txt" })
                File.Copy(TokenizerTestData.Path("tiny", name), Path.Combine(folder.FullName, name));
            File.WriteAllText(Path.Combine(folder.FullName, file), content);

            var error = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFolder(folder.FullName));

            Assert.Contains(expectedInMessage, error.Message);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
