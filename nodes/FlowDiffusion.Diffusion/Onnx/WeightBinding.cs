using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A source's weight overrides computed (overrides of one weight in order, each on the value the previous left) and
/// written into the model's bytes (<see cref="OverriddenModel"/>), which the session is then created from.
/// </summary>
internal sealed class WeightBinding
{
    private WeightBinding(byte[]? modelBytes, string? modelFolder, long bytes)
    {
        ModelBytes = modelBytes;
        ModelFolder = modelFolder;
        Bytes = bytes;
    }

    /// <summary>The model with the overrides written in, or null when there are none or they went to <see cref="ModelFolder"/>.</summary>
    public byte[]? ModelBytes { get; }

    /// <summary>
    /// A temporary folder holding the model with the overrides in external data (<see cref="Float32Upcast.WriteOverridden"/>),
    /// when written inline they would pass protobuf's 2 GB limit; the session is created from its
    /// <see cref="Float32Upcast.ModelName"/>, and the folder is the caller's to delete once it is.
    /// </summary>
    public string? ModelFolder { get; }

    /// <summary>The bytes the overridden weights hold.</summary>
    public long Bytes { get; }

    /// <summary>
    /// Computes each overridden weight and writes it into a copy of the model, or of <paramref name="target"/> (the
    /// model's float32 form, <see cref="Float32Upcast"/>) with float16 values widened to its float32 weights.
    /// </summary>
    /// <exception cref="ArgumentException">An override names a missing weight or yields the wrong type or shape.</exception>
    /// <param name="source">The model and its overrides.</param>
    /// <param name="file">The model's file.</param>
    /// <param name="target">The file the overrides are written into instead of <paramref name="file"/>, if any.</param>
    /// <param name="cancellationToken">Stops the computation.</param>
    /// <param name="maxInlineBytes">The largest model written in memory; a larger one goes to <see cref="ModelFolder"/>.</param>
    public static WeightBinding Bind(
        OnnxModelSource source, OnnxModelFile file, OnnxModelFile? target = null, CancellationToken cancellationToken = default,
        long maxInlineBytes = OverriddenModel.MaxBytes)
    {
        if (source.Overrides.Count == 0)
        {
            return new WeightBinding(null, null, 0);
        }
        var groups = source.Overrides.GroupBy(o => o.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var model = target ?? file;
        WeightTensor Compute(string name)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var value = Value(source.ModelPath, file, name, groups[name], cancellationToken);
            // Written into the float32 form: float16 values widened to its float32 weights.
            return target is not null && value.ElementType == WeightElementType.Float16 && target.Initializer(name)?.ElementType == WeightElementType.Float32
                ? WeightTensor.FromFloats(value.ToFloats(), [.. value.Shape])
                : value;
        }

        if (OverriddenModel.Fits(model, DeclaredBytes(model, groups.Keys), maxInlineBytes))
        {
            var values = groups.Keys.ToDictionary(name => name, Compute, StringComparer.Ordinal);
            var bytes = values.Values.Sum(v => (long)v.Data.Length);
            if (OverriddenModel.Fits(model, values, maxInlineBytes))
            {
                return new WeightBinding(OverriddenModel.Write(model, values), null, bytes);
            }
            return new WeightBinding(null, WriteFolder(model, name => values.GetValueOrDefault(name), cancellationToken), bytes);
        }
        // A merge of whole models (or a LoRA over most of an SDXL UNet) does not fit protobuf's 2 GB: the overridden
        // weights go to a data file beside a copy of the model (the other external weights copied there too), each
        // computed as the copy reaches it, so no more than one is held at a time.
        if (groups.Keys.FirstOrDefault(name => file.Initializer(name) is null) is { } missing)
        {
            throw MissingWeight(source.ModelPath, missing, file);
        }
        long written = 0;
        var folder = WriteFolder(model, name =>
        {
            if (!groups.ContainsKey(name))
            {
                return null;
            }
            var value = Compute(name);
            written += value.Data.Length;
            return value;
        }, cancellationToken);
        return new WeightBinding(null, folder, written);
    }

    // What the overridden weights take as the graph declares them (a lookup table that gains rows takes a little more).
    private static Dictionary<string, long> DeclaredBytes(OnnxModelFile model, IEnumerable<string> names) =>
        names.ToDictionary(name => name, name => model.Initializer(name) is { } i ? i.ElementCount * ElementSize(i.DataType) : 0, StringComparer.Ordinal);

    private static long ElementSize(int dataType) => dataType switch
    {
        10 or 16 => 2,
        11 or 7 => 8,
        _ => 4,
    };

    private static string WriteFolder(OnnxModelFile model, Func<string, WeightTensor?> valueOf, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(Path.GetTempPath(), "flowdiffusion-overridden-" + Guid.NewGuid().ToString("N"));
        try
        {
            Float32Upcast.WriteOverridden(model, folder, valueOf, cancellationToken);
            return folder;
        }
        catch
        {
            OptimizedModelStore.Abandon(folder);
            throw;
        }
    }

    /// <summary>
    /// The value of weight <paramref name="name"/> once <paramref name="overrides"/> (those of that weight, in order) are
    /// applied, each on the value the previous left and the first on the graph's own, checked against the graph's type and
    /// shape; the graph's own value when there are none.
    /// </summary>
    /// <exception cref="ArgumentException">The graph lacks the weight, or an override yields the wrong type or shape.</exception>
    public static WeightTensor Value(string modelPath, OnnxModelFile file, string name, IEnumerable<WeightOverride> overrides, CancellationToken cancellationToken)
    {
        var declared = file.Initializer(name) ?? throw MissingWeight(modelPath, name, file);
        WeightTensor? value = null;
        foreach (var weightOverride in overrides)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var previous = value;
            value = weightOverride.Apply(() => previous ?? file.ReadWeight(name), cancellationToken)
                ?? throw new ArgumentException($"Override {weightOverride} of '{modelPath}' returned no value.");
        }
        if (value is null)
        {
            return file.ReadWeight(name);
        }
        Check(modelPath, declared, value, IsLookupTable(file, name));
        return value;
    }

    /// <summary>The error for an override naming a weight the graph lacks, with near names.</summary>
    public static ArgumentException MissingWeight(string modelPath, string name, OnnxModelFile file)
    {
        var near = file.Weights.Select(w => w.Name)
            .Where(n => n.Contains(name, StringComparison.OrdinalIgnoreCase) || name.Contains(n, StringComparison.OrdinalIgnoreCase))
            .Take(3).ToList();
        var hint = near.Count > 0 ? $" Similar names: {string.Join(", ", near)}." : $" It has {file.Weights.Count} weights.";
        return new ArgumentException($"A weight override names '{name}', which '{modelPath}' has no weight of.{hint}");
    }

    // A table only Gather's data input reads (CLIP's token embeddings) may gain rows: textual-inversion vectors appended
    // past the vocabulary, which only the new ids reach.
    private static bool IsLookupTable(OnnxModelFile file, string name)
    {
        var uses = file.Nodes.Where(n => n.Inputs.Contains(name)).ToList();
        return uses.Count > 0 && uses.All(n => n.OpType == "Gather" && n.Domain is "" or "ai.onnx" && n.Inputs[0] == name && n.Inputs.Skip(1).All(i => i != name));
    }

    private static void Check(string modelPath, OnnxInitializer declared, WeightTensor value, bool mayGainRows)
    {
        var grown = mayGainRows && declared.Shape.Count == value.Shape.Count && declared.Shape.Count > 0 && value.Shape[0] >= declared.Shape[0]
            && declared.Shape.Skip(1).SequenceEqual(value.Shape.Skip(1));
        if (declared.ElementType != value.ElementType || !(grown || declared.Shape.SequenceEqual(value.Shape)))
        {
            var declaredType = declared.ElementType?.ToString().ToLowerInvariant() ?? $"ONNX type {declared.DataType}";
            throw new ArgumentException(
                $"The override of weight '{declared.Name}' in '{modelPath}' is {value}; the graph declares {declaredType} [{string.Join(", ", declared.Shape)}].");
        }
    }
}
