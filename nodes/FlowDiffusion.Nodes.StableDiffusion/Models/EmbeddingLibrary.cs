using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FlowDiffusion.Checkpoints;
using FlowDiffusion.Checkpoints.Embeddings;
using FlowDiffusion.Diffusion.Tokenization;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// The textual-inversion embeddings of one folder for one text encoder: each embedding's vectors get token ids past
/// the encoder's vocabulary (<see cref="FirstId"/> on, in file-name order), and <see cref="Override"/> appends the
/// vectors to the token-embedding table so those ids look them up. Files are read on first use; one that cannot be
/// read for this encoder (a pickle, another width) fails only the prompts that name it.
/// </summary>
internal sealed class EmbeddingLibrary : IEmbeddingVocabulary
{
    /// <summary>The initializer name of CLIP's token-embedding table in checkpoint-built and diffusers-exported encoders.</summary>
    public const string TokenEmbeddingSuffix = "token_embedding.weight";

    private readonly IReadOnlyList<(string Name, string Path)> _files;
    private readonly Lazy<(Dictionary<string, int[]> Ids, Dictionary<string, string> Errors, float[] Rows, string Identity)> _loaded;

    private EmbeddingLibrary(string folder, string weight, int firstId, int width, IReadOnlyList<(string, string)> files)
    {
        Folder = folder;
        Weight = weight;
        FirstId = firstId;
        Width = width;
        _files = files;
        Names = files.Select(f => f.Item1).ToArray();
        _loaded = new(Load);
    }

    public string Folder { get; }

    /// <summary>The token-embedding initializer the vectors are appended to.</summary>
    public string Weight { get; }

    /// <summary>The first id past the encoder's vocabulary.</summary>
    public int FirstId { get; }

    public int Width { get; }

    public IReadOnlyCollection<string> Names { get; }

    /// <summary>
    /// The embeddings in <paramref name="folder"/> for a text encoder declaring <paramref name="weights"/>, or null when
    /// the folder holds none. An encoder without a token-embedding table (an unusual export) gets an error on use.
    /// </summary>
    public static EmbeddingLibrary? For(string folder, IReadOnlyList<WeightInfo> weights, string encoderPath)
    {
        var files = TextualInversionReader.List(folder);
        if (files.Count == 0)
        {
            return null;
        }

        var table = weights.FirstOrDefault(w => w.Name.EndsWith(TokenEmbeddingSuffix, StringComparison.Ordinal) && w.Shape.Count == 2);
        return table is null
            ? new EmbeddingLibrary(folder, "", int.MaxValue, 0, files.Select(f => (f.Name, $"the text encoder '{encoderPath}' has no token-embedding table (…{TokenEmbeddingSuffix}) to add embeddings to")).ToArray())
            : new EmbeddingLibrary(folder, table.Name, checked((int)table.Shape[0]), checked((int)table.Shape[1]), files);
    }

    public IReadOnlyList<int> IdsOf(string name)
    {
        if (!Names.Contains(name))
        {
            var close = Names.Where(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)).Select(n => $" (did you mean '{n}'?)").FirstOrDefault() ?? "";
            throw new ArgumentException($"the prompt names embedding '{name}', which is not in {Folder}{close}; it holds {string.Join(", ", Names.Take(20))}{(Names.Count > 20 ? ", …" : "")}");
        }

        if (Weight.Length == 0)
        {
            throw new ArgumentException($"embedding '{name}': {_files.First(f => f.Name == name).Path}");
        }

        var loaded = _loaded.Value;
        return loaded.Ids.TryGetValue(name, out var ids) ? ids : throw new ArgumentException($"embedding '{name}': {loaded.Errors[name]}");
    }

    /// <summary>The override appending every readable embedding's vectors to the token-embedding table.</summary>
    public WeightOverride Override() => new RowsOverride(Weight, _loaded.Value.Rows, Width, _loaded.Value.Identity);

    private (Dictionary<string, int[]>, Dictionary<string, string>, float[], string) Load()
    {
        var ids = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var rows = new List<float>();
        var identity = new StringBuilder();
        var next = FirstId;
        foreach (var (name, path) in _files)
        {
            try
            {
                var embedding = TextualInversionReader.Read(path, Width);
                ids[name] = Enumerable.Range(next, embedding.Count).ToArray();
                next += embedding.Count;
                rows.AddRange(embedding.Vectors);
                var info = new FileInfo(path);
                identity.Append(info.FullName).Append('|').Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
            catch (Exception e) when (e is CheckpointException or IOException or InvalidDataException or UnauthorizedAccessException)
            {
                errors[name] = e.Message;
            }
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16];
        return (ids, errors, [.. rows], $"embeddings:{ids.Count}:{rows.Count / Math.Max(Width, 1)}:{hash}");
    }

    /// <summary>Appends rows to a [vocabulary, width] table, keeping its element type.</summary>
    private sealed class RowsOverride(string name, float[] rows, int width, string identity) : WeightOverride(name)
    {
        public override string Identity => identity;

        public override WeightTensor Apply(Func<WeightTensor> current, CancellationToken cancellationToken)
        {
            var table = current();
            var values = table.ToFloats();
            var all = new float[values.Length + rows.Length];
            values.CopyTo(all, 0);
            rows.CopyTo(all, values.Length);
            return LoraOverrides.Of(all, table.ElementType, [table.Shape[0] + rows.Length / width, table.Shape[1]]);
        }
    }
}
