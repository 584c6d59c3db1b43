using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// OpenAI CLIP's byte-level BPE tokenizer over a <c>vocab.json</c> + <c>merges.txt</c> pair, id for id the same as
/// <c>clip/simple_tokenizer.py</c> and the Hugging Face <c>CLIPTokenizer</c> of Stable Diffusion. Special tokens,
/// padding and window length come from the folder's tokenizer config, so small test vocabularies work too.
/// Thread-safe.
/// </summary>
public sealed class ClipTokenizer : ITokenizer
{
    // Hugging Face's CLIPTokenizer reads at most this many merges (49,152 − 256 byte symbols − 2 specials).
    private const int MaxMerges = 49152 - 256 - 2;
    private const int WordCacheLimit = 100_000;

    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<int, string> _tokensById;
    private readonly BytePairMerges _merges;
    private readonly string[] _specialTokens;
    private readonly ConcurrentDictionary<string, int[]> _wordCache = new(StringComparer.Ordinal);
    private readonly string _vocabularyPath;

    private ClipTokenizer(Dictionary<string, int> vocabulary, BytePairMerges merges, SpecialTokenConfig config, string vocabularyPath)
    {
        _vocabulary = vocabulary;
        _merges = merges;
        _vocabularyPath = vocabularyPath;
        _tokensById = new Dictionary<int, string>(vocabulary.Count);
        foreach (var (token, id) in vocabulary)
            _tokensById.TryAdd(id, token);
        BosId = RequireId(config.BosToken, "start-of-text (BOS)");
        EosId = RequireId(config.EosToken, "end-of-text (EOS)");
        PadId = RequireId(config.PadToken, "padding");
        MaxLength = config.MaxLength;
        _specialTokens = [config.BosToken, config.EosToken];
    }

    /// <summary>Id of the start-of-text token (49406 for CLIP).</summary>
    public int BosId { get; }

    /// <summary>Id of the end-of-text token (49407 for CLIP).</summary>
    public int EosId { get; }

    /// <summary>Id that fills a window after EOS (the EOS id for SD 1.x, <c>!</c> = 0 for SD 2.x).</summary>
    public int PadId { get; }

    /// <summary>Window length the text encoder takes, BOS and EOS included (77).</summary>
    public int MaxLength { get; }

    /// <summary>Number of entries in <c>vocab.json</c> (49,408 for CLIP).</summary>
    public int VocabularySize => _vocabulary.Count;

    /// <summary>
    /// Loads a tokenizer from a folder holding <c>vocab.json</c> and <c>merges.txt</c>, or from a diffusers model
    /// folder (its <c>tokenizer/</c> subfolder is used). <c>tokenizer_config.json</c> and
    /// <c>special_tokens_map.json</c> are read when present; Stable Diffusion 1.x values fill the gaps.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder lacks <c>vocab.json</c> or <c>merges.txt</c>.</exception>
    /// <exception cref="InvalidDataException">A file is corrupt or lacks a special token.</exception>
    public static ClipTokenizer FromFolder(string path)
    {
        if (!Directory.Exists(path))
            throw new DirectoryNotFoundException($"The tokenizer folder '{path}' does not exist.");
        var folder = path;
        if (!File.Exists(Path.Combine(folder, "vocab.json")) && Directory.Exists(Path.Combine(folder, "tokenizer")))
            folder = Path.Combine(folder, "tokenizer");
        var vocabularyPath = Path.Combine(folder, "vocab.json");
        var mergesPath = Path.Combine(folder, "merges.txt");
        foreach (var required in new[] { vocabularyPath, mergesPath })
        {
            if (!File.Exists(required))
                throw new FileNotFoundException(
                    $"The tokenizer folder '{folder}' has no {Path.GetFileName(required)}; a CLIP tokenizer needs vocab.json and merges.txt.",
                    required);
        }
        return new ClipTokenizer(ReadVocabulary(vocabularyPath), ReadMerges(mergesPath), SpecialTokenConfig.Read(folder), vocabularyPath);
    }

    /// <summary>Token ids of <paramref name="text"/>: BOS, the text's tokens, EOS; neither truncated nor padded.</summary>
    public int[] EncodeToIds(string text)
    {
        var body = EncodeWithoutSpecialTokens(text);
        var ids = new int[body.Count + 2];
        ids[0] = BosId;
        for (var i = 0; i < body.Count; i++)
            ids[i + 1] = body[i];
        ids[^1] = EosId;
        return ids;
    }

    /// <summary>Token ids of <paramref name="text"/> (as <see cref="EncodeToIds"/>) with each id's vocabulary string.</summary>
    public ClipEncoding Encode(string text)
    {
        var ids = EncodeToIds(text);
        return new ClipEncoding(Array.AsReadOnly(ids), Array.AsReadOnly(ids.Select(TokenOf).ToArray()));
    }

    /// <summary>The vocabulary string of <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in the vocabulary.</exception>
    public string TokenOf(int id) => _tokensById.TryGetValue(id, out var token)
        ? token
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is not in the vocabulary '{_vocabularyPath}'.");

    /// <summary>
    /// Turns ids back into text: word ends become spaces and invalid UTF-8 becomes U+FFFD. BOS and EOS are
    /// skipped unless <paramref name="skipSpecialTokens"/> is false; spacing may differ from the original text.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var symbols = new StringBuilder();
        foreach (var id in ids)
        {
            if (skipSpecialTokens && (id == BosId || id == EosId))
                continue;
            symbols.Append(TokenOf(id));
        }
        var bytes = new List<byte>(symbols.Length);
        foreach (var symbol in symbols.ToString())
        {
            if (ByteSymbols.TryGetByte(symbol, out var value))
                bytes.Add(value);
            else
                bytes.AddRange(Encoding.UTF8.GetBytes(symbol.ToString()));
        }
        return Encoding.UTF8.GetString(bytes.ToArray()).Replace(BytePairMerges.EndOfWord, " ").Trim();
    }

    /// <summary>
    /// Tokenizes a prompt with A1111/ComfyUI weight syntax into windows of <see cref="MaxLength"/> ids
    /// (BOS, up to <see cref="MaxLength"/> − 2 tokens, EOS, padding) with a weight per position.
    /// </summary>
    public TokenizedPrompt EncodePrompt(string prompt) => new PromptEncoder(this).Encode(prompt);

    /// <inheritdoc />
    public Tokens Tokenize(string prompt) => new(prompt, EncodePrompt(prompt).Chunks);

    /// <summary>Tokenizes <paramref name="prompt"/> in <paramref name="syntax"/>; ComfyUI's tokens carry the empty window its weighting needs.</summary>
    public Tokens Tokenize(string prompt, PromptSyntax syntax) => Tokenize(new PromptEncoder(this), prompt, syntax);

    /// <summary>Tokenizes <paramref name="prompt"/> with <paramref name="encoder"/> in <paramref name="syntax"/>.</summary>
    public static Tokens Tokenize(PromptEncoder encoder, string prompt, PromptSyntax syntax)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var tokens = new Tokens(prompt, encoder.Encode(prompt, syntax).Chunks);
        return syntax == PromptSyntax.ComfyUI ? tokens with { EmptyWindow = encoder.EmptyWindow() } : tokens;
    }

    /// <summary>The ids of <paramref name="text"/> without BOS and EOS.</summary>
    internal IReadOnlyList<int> EncodeWithoutSpecialTokens(string text)
    {
        var ids = new List<int>();
        foreach (var piece in ClipPreTokenizer.Split(ClipTextCleaner.Clean(text), _specialTokens))
            ids.AddRange(EncodePiece(piece));
        return ids;
    }

    private int[] EncodePiece(string piece)
    {
        if (_wordCache.TryGetValue(piece, out var cached))
            return cached;
        int[] ids;
        if (piece == _specialTokens[0])
            ids = [BosId];
        else if (piece == _specialTokens[1])
            ids = [EosId];
        else
            ids = _merges.Apply(ByteSymbols.Encode(piece)).SelectMany(IdsOfSymbol).ToArray();
        if (_wordCache.Count >= WordCacheLimit)
            _wordCache.Clear();
        _wordCache.TryAdd(piece, ids);
        return ids;
    }

    // A merge whose result the vocabulary lacks falls back to the symbol's bytes, which every CLIP vocabulary holds.
    private IEnumerable<int> IdsOfSymbol(string symbol)
    {
        if (_vocabulary.TryGetValue(symbol, out var id))
            return [id];
        var final = symbol.EndsWith(BytePairMerges.EndOfWord, StringComparison.Ordinal);
        var body = final ? symbol[..^BytePairMerges.EndOfWord.Length] : symbol;
        if (body.Length <= 1)
            throw new InvalidDataException(
                $"The vocabulary '{_vocabularyPath}' lacks the byte symbol '{symbol}'; a CLIP vocabulary holds all 256 byte symbols with and without </w>.");
        return body.Select((c, i) => final && i == body.Length - 1 ? c + BytePairMerges.EndOfWord : c.ToString())
            .SelectMany(IdsOfSymbol).ToArray();
    }

    private int RequireId(string token, string role) => _vocabulary.TryGetValue(token, out var id)
        ? id
        : throw new InvalidDataException($"The vocabulary '{_vocabularyPath}' has no {role} token '{token}'.");

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        Dictionary<string, int>? vocabulary;
        try
        {
            using var stream = File.OpenRead(path);
            vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(stream);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The vocabulary '{path}' is not a JSON object of token → id: {e.Message}", e);
        }
        if (vocabulary is null || vocabulary.Count == 0)
            throw new InvalidDataException($"The vocabulary '{path}' is empty.");
        return new Dictionary<string, int>(vocabulary, StringComparer.Ordinal);
    }

    private static BytePairMerges ReadMerges(string path)
    {
        var merges = new List<(string, string)>();
        var lineNumber = 0;
        foreach (var rawLine in File.ReadLines(path))
        {
            lineNumber++;
            var line = rawLine.TrimEnd('\r');
            if (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal) || line.Length == 0)
                continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw new InvalidDataException($"{path}:{lineNumber}: expected a merge 'left right', found '{line}'.");
            if (merges.Count == MaxMerges)
                break;
            merges.Add((parts[0], parts[1]));
        }
        return new BytePairMerges(merges);
    }
}
