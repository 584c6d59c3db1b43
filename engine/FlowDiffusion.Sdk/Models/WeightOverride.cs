namespace FlowDiffusion.Sdk.Models;

/// <summary>
/// One change to one weight of a model, applied when the host creates the model's session. Overrides of the same
/// weight apply in order, each to the value the previous ones left (the graph's own value first), so a checkpoint's
/// tensor and then two LoRA deltas stack on one reference graph without re-exporting it.
/// </summary>
/// <remarks>
/// The host caches sessions by the overrides' <see cref="Identity"/>: two overrides with equal identities must produce
/// equal values. Implementations are immutable.
/// </remarks>
public abstract class WeightOverride
{
    /// <summary>Starts an override of the weight called <paramref name="name"/>.</summary>
    /// <param name="name">The initializer name in the model's graph.</param>
    protected WeightOverride(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The initializer name in the model's graph.</summary>
    public string Name { get; }

    /// <summary>
    /// What determines the value this override produces (a content hash, or a file's path, size and modification time
    /// with the transform and its strength); part of the session cache key.
    /// </summary>
    public abstract string Identity { get; }

    /// <summary>Computes the weight's new value.</summary>
    /// <param name="current">
    /// Reads the value before this override (the graph's own, or what earlier overrides of the same weight made); only
    /// call it when the new value depends on the old one, since reading a large weight costs time and memory.
    /// </param>
    /// <param name="cancellationToken">Stops the computation.</param>
    /// <returns>The new value; it must keep the shape the graph declares for the weight.</returns>
    public abstract WeightTensor Apply(Func<WeightTensor> current, CancellationToken cancellationToken);

    /// <summary>The name and identity, for logs.</summary>
    public override string ToString() => $"{Name} ← {Identity}";
}
