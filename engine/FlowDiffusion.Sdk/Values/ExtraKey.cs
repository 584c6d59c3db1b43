namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// The name and value type of one kind of extra model input carried beside the text embeddings: pooled embeddings,
/// time ids, a control image, concat channels, image embeddings, region masks. A pack declares each kind it adds once,
/// as a static <see cref="ExtraKey{T}"/>, and everyone reads and writes that kind through the key
/// (<see cref="Conditioning.With{T}(ExtraKey{T}, T)"/>, <see cref="Extras.TryGet{T}(ExtraKey{T}, out T)"/>).
/// </summary>
/// <remarks>
/// Extras are matched by <see cref="Name"/>, so two packs that declare a key with the same name and value type share the
/// kind; names are namespaced like node ids (<c>sdxl.pooled_text</c>, <c>controlnet.hint</c>). The value type must be
/// an SDK type (or a type of an assembly both packs share), since each plugin loads its own copy of its own types.
/// </remarks>
public abstract class ExtraKey
{
    private protected ExtraKey(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The kind's name, e.g. <c>sdxl.pooled_text</c>.</summary>
    public string Name { get; }

    /// <summary>The type of the values stored under this key.</summary>
    public abstract Type ValueType { get; }

    /// <summary>
    /// A key for batch-first float tensors (<see cref="ExtraTensor"/>): batched like the text embeddings, each
    /// conditioning's rows in call order, a batch-1 tensor repeated for every row it fills. Every conditioning of a
    /// batched call must carry it (a classifier-free guidance call needs it on the negative too).
    /// </summary>
    /// <param name="name">The kind's name, e.g. <c>sdxl.pooled_text</c>.</param>
    public static ExtraKey<ExtraTensor> Tensor(string name) => new(name, ExtraTensor.Concat);

    /// <summary>
    /// A key for a value that is the same for the whole call (a control model, a strength, a setting): a batched
    /// call takes it when every conditioning carries an equal value (<see cref="object.Equals(object)"/>) and fails
    /// otherwise.
    /// </summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="name">The kind's name.</param>
    public static ExtraKey<T> Shared<T>(string name) where T : class => new(name, parts => SharedValue(name, parts));

    internal abstract object Combine(IReadOnlyList<(object? Value, int Rows)> parts);

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({ValueType.Name})";

    private static T SharedValue<T>(string name, IReadOnlyList<ExtraPart<T>> parts) where T : class
    {
        var first = parts[0].Value;
        foreach (var part in parts)
        {
            if (part.Value is null || !part.Value.Equals(first))
                throw new ArgumentException($"the extra '{name}' must be the same on every conditioning of a batched call (positive and negative); one {(part.Value is null ? "lacks it" : "has another value")}");
        }
        return first!;
    }
}
