using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Upscale;

/// <summary>
/// A SPAN upscaler read from <c>.safetensors</c> or <c>.pth</c> in spandrel's layout: <c>conv_1</c>, six SPAB blocks
/// <c>block_1</c> … <c>block_6</c> of three Conv3XC each (<c>c1_r</c>, <c>c2_r</c>, <c>c3_r</c>), <c>conv_cat</c>,
/// <c>conv_2</c> and <c>upsampler.0</c>, where every Conv3XC stores a shortcut <c>sk</c>, a branch <c>conv.0</c>–<c>conv.2</c>
/// and a merged <c>eval_conv</c>, plus the optional <c>no_norm</c> buffer. Every key and shape must be the one spandrel's
/// strict load expects; other SPAN variants (other block counts, SPANPlus) are refused naming the tensor.
/// </summary>
public sealed class SpanCheckpoint : IDisposable
{
    /// <summary>The buffer whose presence turns off the input normalisation.</summary>
    public const string NoNormKey = "no_norm";

    private const int Blocks = 6;

    // The keys spandrel detects SPAN by.
    private static readonly string[] Signature =
    [
        "conv_1.sk.weight", "block_1.c1_r.sk.weight", "block_1.c1_r.eval_conv.weight", "block_1.c3_r.eval_conv.weight",
        "conv_cat.weight", "conv_2.sk.weight", "conv_2.eval_conv.weight", "upsampler.0.weight",
    ];

    private readonly SafetensorsFile _file;

    private SpanCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors, SpanArchitecture architecture)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
        Architecture = architecture;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors under spandrel's names.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The shape read from the tensors.</summary>
    public SpanArchitecture Architecture { get; }

    /// <summary>The Conv3XC modules in the order the network runs them.</summary>
    public static IReadOnlyList<string> Convolutions { get; } =
        ["conv_1", .. Enumerable.Range(1, Blocks).SelectMany(b => new[] { $"block_{b}.c1_r", $"block_{b}.c2_r", $"block_{b}.c3_r" }), "conv_2"];

    /// <summary>Whether the keys are a SPAN's: all of those spandrel detects it by.</summary>
    public static bool IsSpan(IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var all = keys.ToHashSet(StringComparer.Ordinal);
        return Signature.All(all.Contains);
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not a SPAN spandrel would load.</summary>
    public static SpanCheckpoint Open(string path)
    {
        var file = SafetensorsFile.Open(path);
        try
        {
            if (!IsSpan(file.Tensors.Keys))
            {
                var missing = Signature.Where(k => !file.Tensors.ContainsKey(k));
                throw new CheckpointException($"{path}: not a SPAN upscaler (missing {string.Join(", ", missing)}).");
            }

            var tensors = file.Tensors.ToDictionary(p => p.Key, p => new StoredTensor(file, p.Value, p.Value.Shape), StringComparer.Ordinal);
            return new SpanCheckpoint(file, path, tensors, Detect(file, path));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The ONNX graph: <c>image</c> [B, in, h, w] in [0, 1] → <c>upscaled</c> [B, out, s·h, s·w].</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => SpanGraph.Build(Tensors, Architecture, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    private static SpanArchitecture Detect(SafetensorsFile file, string source)
    {
        var first = file.Tensors["conv_1.sk.weight"].Shape;
        var last = file.Tensors["upsampler.0.weight"].Shape;
        if (first is not [var features, var inChannels, 1, 1] || last is not [var shuffled, _, 3, 3])
        {
            throw new CheckpointException($"{source}: conv_1.sk.weight is [{string.Join(",", first)}] and upsampler.0.weight [{string.Join(",", last)}]; "
                + "a SPAN's are [features, channels, 1, 1] and [channels × scale², features, 3, 3].");
        }

        // spandrel's rule: the first of (input channels, 3, 4, 1) that leaves a square factor.
        var outChannels = new[] { inChannels, 3, 4, 1 }.FirstOrDefault(c => shuffled % c == 0 && IsSquare(shuffled / c));
        if (outChannels == 0)
        {
            throw new CheckpointException($"{source}: upsampler.0 gives {shuffled} channels, not 1, 3 or 4 channels × a square scale.");
        }

        var normalised = !file.Tensors.ContainsKey(NoNormKey);
        if (normalised && inChannels != 3)
        {
            throw new CheckpointException($"{source}: a SPAN without the no_norm buffer subtracts an RGB mean, but conv_1 takes {inChannels} channels; spandrel cannot run it either.");
        }

        var architecture = new SpanArchitecture((int)inChannels, (int)outChannels, (int)features, (int)Math.Round(Math.Sqrt(shuffled / outChannels)), normalised);
        var expected = Expected(architecture);
        foreach (var (name, shape) in expected)
        {
            if (!file.Tensors.TryGetValue(name, out var tensor))
            {
                throw new CheckpointException($"{source}: SPAN tensor '{name}' is missing; expected [{string.Join(",", shape)}].");
            }

            if (!tensor.Shape.SequenceEqual(shape))
            {
                throw new CheckpointException($"{source}: SPAN tensor '{name}' is [{string.Join(",", tensor.Shape)}]; expected [{string.Join(",", shape)}] "
                    + $"for {features} features, {inChannels} → {outChannels} channels, {architecture.Scale}x.");
            }
        }

        if (file.Tensors.Keys.FirstOrDefault(k => !expected.ContainsKey(k)) is { } stray)
        {
            throw new CheckpointException($"{source}: tensor '{stray}' fits no SPAN module (conv_1, block_1 … block_{Blocks}, conv_cat, conv_2, upsampler.0, no_norm); "
                + "other SPAN variants (more or fewer blocks, SPANPlus) are not supported.");
        }

        return architecture;
    }

    // Every tensor spandrel's SPAN holds, with its shape.
    private static Dictionary<string, long[]> Expected(SpanArchitecture arch)
    {
        long f = arch.Features;
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        void Conv(string name, long cin, long cout, long kernel)
        {
            shapes[name + ".weight"] = [cout, cin, kernel, kernel];
            shapes[name + ".bias"] = [cout];
        }

        foreach (var name in Convolutions)
        {
            var cin = name == "conv_1" ? arch.InChannels : f;
            Conv(name + ".sk", cin, f, 1);
            Conv(name + ".conv.0", cin, 2 * cin, 1);
            Conv(name + ".conv.1", 2 * cin, 2 * f, 3);
            Conv(name + ".conv.2", 2 * f, f, 1);
            Conv(name + ".eval_conv", cin, f, 3);
        }

        Conv("conv_cat", 4 * f, f, 1);
        Conv("upsampler.0", f, arch.OutChannels * arch.Scale * arch.Scale, 3);
        if (!arch.Normalised)
        {
            shapes[NoNormKey] = [1];
        }

        return shapes;
    }

    private static bool IsSquare(long n)
    {
        var root = (long)Math.Round(Math.Sqrt(n));
        return n > 0 && root * root == n;
    }
}
