using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FlowDiffusion.Checkpoints.Lora;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Checkpoints.Embeddings;

/// <summary>
/// The textual-inversion embeddings of one folder for one text encoder: each readable embedding's vectors get token
/// ids past the encoder's vocabulary (<see cref="FirstId"/> on, in file-name order), and <see cref="Override"/>
/// appends the vectors to the token-embedding table so those ids look them up. A file that cannot be read for this
/// encoder (damaged, another width) gets no ids and keeps its error for whoever names it.
/// </summary>
public sealed class EmbeddingTable
{
    /// <summary>The suffix of CLIP's token-embedding initializer in checkpoint-built and diffusers-exported encoders.</summary>
    public const string TokenEmbeddingSuffix = "token_embedding.weight";

    private readonly Dictionary<string, int[]> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _errors = new(StringComparer.Ordinal);
    private readonly float[] _rows;
    private readonly string _identity;

    /// <summary>
    /// Reads every embedding file in <paramref name="files"/> for the table <paramref name="weight"/> of [<paramref name="firstId"/>,
    /// <paramref name="width"/>]; <paramref name="tensor"/> names the tensor to take (SDXL's <c>clip_l</c> or <c>clip_g</c>), else the one of that width.
    /// </summary>
    public EmbeddingTable(IReadOnlyList<(string Name, string Path)> files, string weight, int firstId, int width, string? tensor = null)
    {
        Weight = weight;
        FirstId = firstId;
        Width = width;
        var rows = new List<float>();
        var identity = new StringBuilder();
        var next = firstId;
        foreach (var (name, path) in files)
        {
            try
            {
                var embedding = TextualInversionReader.Read(path, width, tensor);
                _ids[name] = [.. Enumerable.Range(next, embedding.Count)];
                next += embedding.Count;
                rows.AddRange(embedding.Vectors);
                var info = new FileInfo(path);
                identity.Append(info.FullName).Append('|').Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
            catch (Exception e) when (e is CheckpointException or IOException or InvalidDataException or UnauthorizedAccessException)
            {
                _errors[name] = e.Message;
            }
        }

        _rows = [.. rows];
        _identity = $"embeddings:{_ids.Count}:{_rows.Length / Math.Max(width, 1)}:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16]}";
    }

    /// <summary>The token-embedding initializer the vectors are appended to.</summary>
    public string Weight { get; }

    /// <summary>The first id past the encoder's vocabulary.</summary>
    public int FirstId { get; }

    /// <summary>The encoder's width.</summary>
    public int Width { get; }

    /// <summary>The ids of each readable embedding by name.</summary>
    public IReadOnlyDictionary<string, int[]> Ids => _ids;

    /// <summary>Why each unreadable embedding could not be read, by name.</summary>
    public IReadOnlyDictionary<string, string> Errors => _errors;

    /// <summary>The token-embedding table of <paramref name="weights"/> (name, rows, width), or null when the encoder has none.</summary>
    public static (string Name, int Rows, int Width)? TableOf(IReadOnlyList<WeightInfo> weights) =>
        weights.FirstOrDefault(w => w.Name.EndsWith(TokenEmbeddingSuffix, StringComparison.Ordinal) && w.Shape.Count == 2) is { } table
            ? (table.Name, checked((int)table.Shape[0]), checked((int)table.Shape[1]))
            : null;

    /// <summary>The override appending every readable embedding's vectors to the token-embedding table.</summary>
    public WeightOverride Override() => new RowsOverride(Weight, _rows, Width, _identity);

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
            return LoraWeightOverrides.Of(all, table.ElementType, [table.Shape[0] + rows.Length / width, table.Shape[1]]);
        }
    }
}
