using FlowDiffusion.Checkpoints.Embeddings;
using FlowDiffusion.Diffusion.Tokenization;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// A folder's textual-inversion embeddings as the tokenizer's vocabulary of names and the text encoders' extra
/// table rows (<see cref="EmbeddingTable"/>, one per tower), read on first use. SD 1.x has one tower; SDXL has two, each
/// taking its own vectors from the file (<c>clip_l</c>, <c>clip_g</c>) under the same ids (the refiner: <c>clip_g</c> alone).
/// </summary>
internal sealed class EmbeddingLibrary : IEmbeddingVocabulary
{
    private readonly Lazy<EmbeddingTable[]> _tables;
    private readonly string? _unusable;

    private EmbeddingLibrary(string folder, IReadOnlyList<(string Name, string Path)> files, IReadOnlyList<((string Name, int Rows, int Width)? Table, string? Tensor)> towers, string encoderPath)
    {
        Folder = folder;
        Names = files.Select(f => f.Name).ToArray();
        FirstId = towers[0].Table?.Rows ?? int.MaxValue;
        _unusable = towers.Any(t => t.Table is null)
            ? $"the text encoder '{encoderPath}' has no token-embedding table (…{EmbeddingTable.TokenEmbeddingSuffix}) to add embeddings to"
            : towers.Any(t => t.Table!.Value.Rows != FirstId)
                ? $"the text encoders of '{encoderPath}' have vocabularies of {string.Join(" and ", towers.Select(t => t.Table!.Value.Rows))} tokens, so one id cannot name a vector in each"
                : null;
        _tables = new(() => [.. towers.Select(t => new EmbeddingTable(files, t.Table!.Value.Name, t.Table.Value.Rows, t.Table.Value.Width, t.Tensor))]);
    }

    public string Folder { get; }

    /// <summary>The first id past the encoder's vocabulary.</summary>
    public int FirstId { get; }

    public IReadOnlyCollection<string> Names { get; }

    /// <summary>The embeddings in <paramref name="folder"/> for a text encoder declaring <paramref name="weights"/>, or null when the folder holds none.</summary>
    public static EmbeddingLibrary? For(string folder, IReadOnlyList<WeightInfo> weights, string encoderPath)
    {
        var files = TextualInversionReader.List(folder);
        return files.Count == 0 ? null : new EmbeddingLibrary(folder, files, [(EmbeddingTable.TableOf(weights), null)], encoderPath);
    }

    /// <summary>
    /// The embeddings in <paramref name="folder"/> for SDXL's towers: <c>clip_l</c> vectors for CLIP ViT-L (<paramref name="first"/>,
    /// null for the refiner) and <c>clip_g</c> for OpenCLIP (<paramref name="second"/>); null when the folder holds none.
    /// </summary>
    public static EmbeddingLibrary? ForSdxl(string folder, IReadOnlyList<WeightInfo>? first, IReadOnlyList<WeightInfo> second, string encoderPath)
    {
        var files = TextualInversionReader.List(folder);
        if (files.Count == 0)
        {
            return null;
        }

        var g = (EmbeddingTable.TableOf(second), (string?)"clip_g");
        return new EmbeddingLibrary(folder, files, first is null ? [g] : [(EmbeddingTable.TableOf(first), "clip_l"), g], encoderPath);
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

        var tables = _tables.Value;
        var ids = tables[0].Ids.TryGetValue(name, out var found) ? found : throw new ArgumentException($"embedding '{name}': {tables[0].Errors[name]}");
        foreach (var other in tables.Skip(1))
        {
            if (!other.Ids.TryGetValue(name, out var theirs))
            {
                throw new ArgumentException($"embedding '{name}': {other.Errors[name]}");
            }

            if (!theirs.SequenceEqual(ids))
            {
                throw new ArgumentException($"embedding '{name}': its clip_l and clip_g vectors (or those of an embedding before it in {Folder}) differ in number, so the two text encoders cannot share its ids");
            }
        }

        return ids;
    }

    /// <summary>The override appending the embeddings' vectors to the (first) encoder's token table.</summary>
    public WeightOverride Override() => Override(0);

    /// <summary>The override appending the embeddings' vectors to tower <paramref name="tower"/>'s token table (in the order the library was made for).</summary>
    public WeightOverride Override(int tower) => _tables.Value[tower].Override();
}
