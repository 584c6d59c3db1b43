using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace FlowDiffusion.Models.Tests;

/// <summary>A model folder's tokenizer configured as CLIP's (oracles/clip/README.md §3), for feeding the shipped text encoders.</summary>
internal sealed class ModelTokenizer
{
    private const string ClipPattern = @"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

    private readonly Tokenizer _bpe;

    private ModelTokenizer(Tokenizer bpe, Dictionary<string, int> vocabulary) => (_bpe, Vocabulary) = (bpe, vocabulary);

    public Dictionary<string, int> Vocabulary { get; }

    public int StartOfText => Vocabulary["<|startoftext|>"];

    public int EndOfText => Vocabulary["<|endoftext|>"];

    public static ModelTokenizer Load(string model)
    {
        var folder = Path.Combine(RepositoryRoot.Models, model, "tokenizer");
        var vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(folder, "vocab.json")))!;
        var special = new Dictionary<string, int> { ["<|startoftext|>"] = vocabulary["<|startoftext|>"], ["<|endoftext|>"] = vocabulary["<|endoftext|>"] };
        var options = new BpeOptions(Path.Combine(folder, "vocab.json"), Path.Combine(folder, "merges.txt"))
        {
            PreTokenizer = new RegexPreTokenizer(new Regex(ClipPattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant), special),
            Normalizer = new LowerCaseNormalizer(),
            SpecialTokens = special,
            EndOfWordSuffix = "</w>",
            ByteLevel = true,
        };
        return new ModelTokenizer(BpeTokenizer.Create(options), vocabulary);
    }

    /// <summary>The ids of the words alone, without BOS/EOS.</summary>
    public IReadOnlyList<int> EncodeWords(string text) =>
        _bpe.EncodeToIds(Regex.Replace(WebUtility.HtmlDecode(WebUtility.HtmlDecode(text)), @"\s+", " ").Trim());

    /// <summary>BOS, the words, EOS, padded with EOS to 77, as SD v1.x pipelines feed the text encoder.</summary>
    public int[] EncodePadded(string text)
    {
        var ids = new List<int> { StartOfText };
        ids.AddRange(EncodeWords(text).Take(75));
        ids.Add(EndOfText);
        while (ids.Count < 77)
        {
            ids.Add(EndOfText);
        }

        return ids.ToArray();
    }
}
