using System.Globalization;
using System.Text.RegularExpressions;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Upscale;

/// <summary>
/// Real-ESRGAN's compact generator (SRVGGNetCompact), read from <c>.safetensors</c> or <c>.pth</c>: one sequential
/// <c>body</c> of 3×3 convolutions at even indices (<c>body.0</c> from the image, <c>body.2</c> … between features,
/// the last to channels × scale²) with a PReLU after each but the last at odd indices (<c>body.1.weight</c>, one slope
/// per feature). Files whose activations have no weights (ReLU, LeakyReLU) cannot be told apart and are refused.
/// </summary>
public sealed partial class CompactNetCheckpoint : IDisposable
{
    private readonly SafetensorsFile _file;

    private CompactNetCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors, CompactNetArchitecture architecture)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
        Architecture = architecture;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors (<c>body.N.weight</c>, <c>body.N.bias</c>).</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The shape read from the tensors.</summary>
    public CompactNetArchitecture Architecture { get; }

    /// <summary>Whether the keys are a compact generator's: every key <c>body.N.weight</c> or <c>body.N.bias</c>, <c>body.0</c> among them.</summary>
    public static bool IsCompactNet(IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var all = keys.ToList();
        return all.Count > 0 && all.All(k => BodyKey().IsMatch(k)) && all.Contains("body.0.weight");
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not a compact generator.</summary>
    public static CompactNetCheckpoint Open(string path)
    {
        var file = SafetensorsFile.Open(path);
        try
        {
            if (!IsCompactNet(file.Tensors.Keys))
            {
                throw new CheckpointException($"{path}: not a Real-ESRGAN compact generator (SRVGGNetCompact: only body.N.weight/bias keys, body.0 first).");
            }

            var tensors = file.Tensors.ToDictionary(p => p.Key, p => new StoredTensor(file, p.Value, p.Value.Shape), StringComparer.Ordinal);
            return new CompactNetCheckpoint(file, path, tensors, Detect(file, path));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The ONNX graph: <c>image</c> [B, channels, h, w] in [0, 1] → <c>upscaled</c> [B, channels, s·h, s·w].</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => CompactNetGraph.Build(Tensors, Architecture, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    private static CompactNetArchitecture Detect(SafetensorsFile file, string source)
    {
        var indices = file.Tensors.Keys.Select(k => int.Parse(BodyKey().Match(k).Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().Order().ToArray();
        var last = indices[^1];
        if (last < 2 || last % 2 != 0 || indices.Length != last + 1)
        {
            throw new CheckpointException($"{source}: the compact generator's body runs to index {last} with {indices.Length} modules holding weights; "
                + "expected a convolution at every even index and a PReLU (one slope per feature) at every odd one. Activations without weights (ReLU, LeakyReLU) cannot be told from the file and are not supported.");
        }

        long[] Shape(string name) => file.Tensors.TryGetValue(name, out var t) ? t.Shape : throw new CheckpointException($"{source}: compact generator tensor '{name}' is missing.");
        var first = Shape("body.0.weight");
        if (first is not [var features, var channels, 3, 3])
        {
            throw new CheckpointException($"{source}: body.0.weight is [{string.Join(",", first)}]; a compact generator's first convolution is [features, channels, 3, 3].");
        }

        for (var i = 0; i <= last; i++)
        {
            var weight = Shape($"body.{i}.weight");
            var expected = i % 2 == 1 ? [features] : i == 0 ? first : i == last ? [weight[0], features, 3, 3] : new[] { features, features, 3, 3 };
            if (!weight.SequenceEqual(expected) || (i % 2 == 0 && !Shape($"body.{i}.bias").SequenceEqual([weight[0]])))
            {
                throw new CheckpointException($"{source}: body.{i} is [{string.Join(",", weight)}]; expected [{string.Join(",", expected)}]{(i % 2 == 0 ? " with a bias per output" : " (a PReLU's slopes)")}.");
            }
        }

        var outputs = Shape($"body.{last}.weight")[0];
        var scale = (int)Math.Round(Math.Sqrt(outputs / (double)channels));
        if (scale < 1 || scale * scale * channels != outputs)
        {
            throw new CheckpointException($"{source}: the last convolution gives {outputs} channels, not {channels} × a square scale.");
        }

        return new CompactNetArchitecture((int)channels, (int)features, (last - 2) / 2, scale);
    }

    [GeneratedRegex(@"^body\.(\d{1,4})\.(weight|bias)$")]
    private static partial Regex BodyKey();
}
