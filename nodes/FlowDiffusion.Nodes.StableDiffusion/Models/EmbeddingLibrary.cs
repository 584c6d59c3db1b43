using FlowDiffusion.Checkpoints.Embeddings;
using FlowDiffusion.Diffusion.Tokenization;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// A folder's textual-inversion embeddings as the tokenizer's vocabulary of names and the text encoder's extra
/// table rows (<see cref="EmbeddingTable"/>), read on first use.
/// </summary>
internal sealed class EmbeddingLibrary : IEmbeddingVocabulary
{
    private readonly Lazy<EmbeddingTable> _table;
    private readonly string? _unusable;

    private EmbeddingLibrary(string folder, IReadOnlyList<(string Name, string Path)> files, (string Name, int Rows, int Width)? table, string encoderPath)
    {
        Folder = folder;
        Names = files.Select(f => f.Name).ToArray();
        FirstId = table?.Rows ?? int.MaxValue;
        _unusable = table is null ? $"the text encoder '{encoderPath}' has no token-embedding table (…{EmbeddingTable.TokenEmbeddingSuffix}) to add embeddings to" : null;
        _table = new(() => new EmbeddingTable(files, table!.Value.Name, table.Value.Rows, table.Value.Width));
    }

    public string Folder { get; }

    /// <summary>The first id past the encoder's vocabulary.</summary>
    public int FirstId { get; }

    public IReadOnlyCollection<string> Names { get; }

    /// <summary>The embeddings in <paramref name="folder"/> for a text encoder declaring <paramref name="weights"/>, or null when the folder holds none.</summary>
    public static EmbeddingLibrary? For(string folder, IReadOnlyList<WeightInfo> weights, string encoderPath)
    {
        var files = TextualInversionReader.List(folder);
        return files.Count == 0 ? null : new EmbeddingLibrary(folder, files, EmbeddingTable.TableOf(weights), encoderPath);
    }

    public IReadOnlyList<int> IdsOf(string name)
    {
        if (!Names.Contains(name))
        {
            var close = Names.Where(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)).Select(n => $" (did you mean '{n}'?)").FirstOrDefault() ?? "";
            throw new ArgumentException($"the prompt names embedding '{name}', which is not in {Folder}{close}; it holds {string.Join(", ", Names.Take(20))}{(Names.Count > 20 ? ", …" : "")}");
        }

        if (_unusable is not null)
        {
            throw new ArgumentException($"embedding '{name}': {_unusable}");
        }

        var table = _table.Value;
        return table.Ids.TryGetValue(name, out var ids) ? ids : throw new ArgumentException($"embedding '{name}': {table.Errors[name]}");
    }

    /// <summary>The override appending the embeddings' vectors to the encoder's token table.</summary>
    public WeightOverride Override() => _table.Value.Override();
}
