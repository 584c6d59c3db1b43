namespace FlowDiffusion.ModelGenerator.Tokenizer;

/// <summary>
/// A small byte-level BPE vocabulary in CLIP's layout: 256 byte symbols, the same with <c>&lt;/w&gt;</c>, one token per
/// merge in merge order, then <c>&lt;|startoftext|&gt;</c> and <c>&lt;|endoftext|&gt;</c>.
/// </summary>
public sealed class BpeVocabulary
{
    /// <summary>CLIP's end-of-word marker.</summary>
    public const string EndOfWord = "</w>";

    /// <summary>The beginning-of-text token.</summary>
    public const string StartOfText = "<|startoftext|>";

    /// <summary>The end-of-text token, also the padding token.</summary>
    public const string EndOfText = "<|endoftext|>";

    private readonly Dictionary<(string Left, string Right), int> _ranks;

    private BpeVocabulary(IReadOnlyList<(string Left, string Right)> merges, IReadOnlyList<string> tokens)
    {
        Merges = merges;
        Tokens = tokens;
        _ranks = merges.Select((m, i) => (m, i)).ToDictionary(p => p.m, p => p.i);
        Ids = tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
    }

    /// <summary>The merge list in rank order.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    /// <summary>Every token, indexed by id.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Token → id.</summary>
    public IReadOnlyDictionary<string, int> Ids { get; }

    /// <summary>The vocabulary of the shipped test models: every word of <see cref="PromptWords.All"/> is one token.</summary>
    public static BpeVocabulary ForPromptWords() => Learn(PromptWords.All);

    /// <summary>
    /// Learns merges so that each lowercase ASCII word becomes the single token <c>word&lt;/w&gt;</c>. A new merge joins
    /// the first two pieces the current merges leave; appending merges at the end never changes words already learned,
    /// because BPE only reaches the last rank once no earlier pair applies.
    /// </summary>
    public static BpeVocabulary Learn(IEnumerable<string> words)
    {
        var merges = new List<(string, string)>();
        var ranks = new Dictionary<(string, string), int>();
        var learned = new List<string>();
        foreach (var word in words.Where(w => w.Length > 1))
        {
            for (var pieces = Split(word, ranks); pieces.Count > 1; pieces = Split(word, ranks))
            {
                ranks[(pieces[0], pieces[1])] = merges.Count;
                merges.Add((pieces[0], pieces[1]));
            }

            learned.Add(word);
        }

        var tokens = new List<string>(ByteSymbols.InTableOrder);
        tokens.AddRange(ByteSymbols.InTableOrder.Select(s => s + EndOfWord));
        tokens.AddRange(merges.Select(m => m.Item1 + m.Item2));
        tokens.Add(StartOfText);
        tokens.Add(EndOfText);
        if (tokens.Distinct(StringComparer.Ordinal).Count() != tokens.Count)
        {
            throw new InvalidOperationException("Two merges produce the same token; reorder the word list.");
        }

        var vocabulary = new BpeVocabulary(merges, tokens);
        foreach (var word in learned)
        {
            if (vocabulary.EncodeWord(word) is not [var only] || only != word + EndOfWord)
            {
                throw new InvalidOperationException($"The word '{word}' did not become one token.");
            }
        }

        return vocabulary;
    }

    /// <summary>CLIP's BPE of one pre-tokenised ASCII word (lowercase letters): the symbols it ends as.</summary>
    public IReadOnlyList<string> EncodeWord(string word) => Split(word, _ranks);

    private static List<string> Split(string word, IReadOnlyDictionary<(string, string), int> ranks)
    {
        var symbols = word.Select(c => c.ToString()).ToList();
        symbols[^1] += EndOfWord;
        while (symbols.Count > 1)
        {
            var best = -1;
            var bestRank = int.MaxValue;
            for (var i = 0; i + 1 < symbols.Count; i++)
            {
                if (ranks.TryGetValue((symbols[i], symbols[i + 1]), out var rank) && rank < bestRank)
                {
                    (best, bestRank) = (i, rank);
                }
            }

            if (best < 0)
            {
                break;
            }

            var (left, right) = (symbols[best], symbols[best + 1]);
            var merged = new List<string>(symbols.Count);
            for (var i = 0; i < symbols.Count; i++)
            {
                if (i + 1 < symbols.Count && symbols[i] == left && symbols[i + 1] == right)
                {
                    merged.Add(left + right);
                    i++;
                }
                else
                {
                    merged.Add(symbols[i]);
                }
            }

            symbols = merged;
        }

        return symbols;
    }
}
