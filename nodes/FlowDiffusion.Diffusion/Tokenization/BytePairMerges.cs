namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// The ranked merge list of a CLIP BPE vocabulary: applies the lowest-ranked adjacent pair until none is left,
/// with CLIP's <c>&lt;/w&gt;</c> marker on the word's last symbol.
/// </summary>
internal sealed class BytePairMerges
{
    /// <summary>CLIP's end-of-word suffix, part of every word-final symbol.</summary>
    public const string EndOfWord = "</w>";

    private readonly Dictionary<(string Left, string Right), int> _ranks;

    /// <summary>Creates the merge table; the position in <paramref name="merges"/> is the rank.</summary>
    public BytePairMerges(IReadOnlyList<(string Left, string Right)> merges)
    {
        _ranks = new Dictionary<(string, string), int>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
            _ranks.TryAdd(merges[rank], rank);
    }

    /// <summary>Number of merges.</summary>
    public int Count => _ranks.Count;

    /// <summary>Splits one byte-symbol word into its BPE symbols.</summary>
    public List<string> Apply(string word)
    {
        var symbols = new List<string>(word.Length);
        for (var i = 0; i < word.Length - 1; i++)
            symbols.Add(word[i].ToString());
        symbols.Add(word[^1] + EndOfWord);

        while (symbols.Count > 1)
        {
            var best = BestPair(symbols);
            if (best is not var (left, right))
                break;
            var merged = new List<string>(symbols.Count);
            var i = 0;
            while (i < symbols.Count)
            {
                if (i < symbols.Count - 1 && symbols[i] == left && symbols[i + 1] == right)
                {
                    merged.Add(left + right);
                    i += 2;
                }
                else
                {
                    merged.Add(symbols[i]);
                    i++;
                }
            }
            symbols = merged;
        }
        return symbols;
    }

    private (string, string)? BestPair(List<string> symbols)
    {
        (string, string)? best = null;
        var bestRank = int.MaxValue;
        for (var i = 0; i < symbols.Count - 1; i++)
        {
            if (_ranks.TryGetValue((symbols[i], symbols[i + 1]), out var rank) && rank < bestRank)
            {
                bestRank = rank;
                best = (symbols[i], symbols[i + 1]);
            }
        }
        return best;
    }
}
