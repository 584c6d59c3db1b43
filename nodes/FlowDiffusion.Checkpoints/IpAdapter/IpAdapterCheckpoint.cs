using System.Globalization;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.IpAdapter;

/// <summary>
/// An IP-Adapter (Ye et al. 2023) read from <c>.safetensors</c> in the released layout (<c>ip-adapter_sd15.safetensors</c>):
/// <c>image_proj.proj.weight/bias</c> and <c>image_proj.norm.weight/bias</c> (image embedding → N tokens of the UNet's
/// context width) or, for IP-Adapter Plus and plus-face (<c>ip-adapter-plus_sd15</c>, <c>ip-adapter-plus_sdxl_vit-h</c>),
/// a Resampler (<see cref="ResamplerArchitecture"/>: the tower's penultimate hidden states → N tokens), and <c>ip_adapter.{i}.to_k_ip.weight</c> / <c>to_v_ip.weight</c>, one pair per cross-attention layer,
/// i being the layer's index among the UNet's attention processors in diffusers' order (odd: 1, 3, … 31 for SD 1.5, … 139 for SDXL). Any
/// prefix before <c>image_proj.</c> / <c>ip_adapter.</c> is not accepted: the released files have none.
/// </summary>
public sealed class IpAdapterCheckpoint : IDisposable
{
    /// <summary>The projection's tensors' prefix.</summary>
    public const string ProjectionPrefix = "image_proj.";

    /// <summary>The cross-attention layers' tensors' prefix.</summary>
    public const string LayerPrefix = "ip_adapter.";

    private readonly SafetensorsFile _file;

    private IpAdapterCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors, IReadOnlyList<int> indices, IpAdapterArchitecture architecture)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
        ProcessorIndices = indices;
        Architecture = architecture;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names in the file.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The attention-processor index of each cross-attention layer, in order (the i of <c>ip_adapter.{i}</c>).</summary>
    public IReadOnlyList<int> ProcessorIndices { get; }

    /// <summary>The shape read from the tensors.</summary>
    public IpAdapterArchitecture Architecture { get; }

    /// <summary>Opens an IP-Adapter file; throws a <see cref="CheckpointException"/> naming the file when it is none or a kind not supported.</summary>
    public static IpAdapterCheckpoint Open(string path)
    {
        var safetensors = SafetensorsFile.Open(path);
        try
        {
            var tensors = safetensors.Tensors.ToDictionary(p => p.Key, p => new StoredTensor(safetensors, p.Value, p.Value.Shape), StringComparer.Ordinal);
            var resampler = ResamplerArchitecture.Detect(tensors, path);
            int embeddingWidth, tokens, context;
            if (resampler is { } plus)
            {
                (embeddingWidth, tokens, context) = (plus.InputWidth, plus.Queries, plus.OutputWidth);
            }
            else if (tensors.ContainsKey(ProjectionPrefix + "proj.0.weight") || tensors.ContainsKey(ProjectionPrefix + "proj.2.weight"))
            {
                throw new CheckpointException($"{path}: an IP-Adapter with an MLP image projection (image_proj.proj.0/2: full-face or FaceID); only the base IP-Adapter (image_proj.proj + norm) and IP-Adapter Plus (a Resampler: image_proj.latents) are supported.");
            }
            else if (tensors.TryGetValue(ProjectionPrefix + "proj.weight", out var proj) && tensors.TryGetValue(ProjectionPrefix + "norm.weight", out var norm))
            {
                context = (int)norm.Shape[0];
                if (proj.Shape.Length != 2 || proj.Shape[0] % context != 0)
                {
                    throw new CheckpointException($"{path}: image_proj.proj.weight [{string.Join(", ", proj.Shape)}] does not make tokens of the norm's width {context}.");
                }

                (embeddingWidth, tokens) = ((int)proj.Shape[1], (int)(proj.Shape[0] / context));
            }
            else
            {
                throw new CheckpointException($"{path}: no image_proj.proj.weight / image_proj.norm.weight (base) or image_proj.latents (Plus); this is not an IP-Adapter.");
            }

            var indices = tensors.Keys
                .Where(k => k.StartsWith(LayerPrefix, StringComparison.Ordinal) && k.EndsWith(".to_k_ip.weight", StringComparison.Ordinal))
                .Select(k => int.TryParse(k.AsSpan(LayerPrefix.Length, k.Length - LayerPrefix.Length - ".to_k_ip.weight".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i
                    : throw new CheckpointException($"{path}: '{k}' is not ip_adapter.<number>.to_k_ip.weight."))
                .Order()
                .ToList();
            if (indices.Count == 0)
            {
                throw new CheckpointException($"{path}: no ip_adapter.<i>.to_k_ip.weight tensors; this is not an IP-Adapter.");
            }

            var channels = new List<int>();
            foreach (var i in indices)
            {
                var key = tensors[KeyWeight(i)].Shape;
                var value = tensors.TryGetValue(ValueWeight(i), out var v) ? v.Shape : throw new CheckpointException($"{path}: '{ValueWeight(i)}' is missing.");
                if (key.Length != 2 || key[1] != context || !key.SequenceEqual(value))
                {
                    throw new CheckpointException($"{path}: ip_adapter.{i}'s to_k_ip [{string.Join(", ", key)}] and to_v_ip [{string.Join(", ", value)}] do not both map the {context}-wide tokens.");
                }

                channels.Add((int)key[0]);
            }

            var architecture = new IpAdapterArchitecture(embeddingWidth, tokens, context, channels, resampler?.Architecture);
            return new IpAdapterCheckpoint(safetensors, path, tensors, indices, architecture);
        }
        catch
        {
            safetensors.Dispose();
            throw;
        }
    }

    /// <summary>The key projection of processor <paramref name="index"/>.</summary>
    public static string KeyWeight(int index) => $"{LayerPrefix}{index}.to_k_ip.weight";

    /// <summary>The value projection of processor <paramref name="index"/>.</summary>
    public static string ValueWeight(int index) => $"{LayerPrefix}{index}.to_v_ip.weight";

    /// <summary>The adapter's graph (<see cref="IpAdapterGraph.Build"/>).</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => IpAdapterGraph.Build(this, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
