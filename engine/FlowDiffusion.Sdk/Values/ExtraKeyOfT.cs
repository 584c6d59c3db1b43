namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// A typed key for one kind of extra model input (see <see cref="ExtraKey"/>). Most kinds are tensors
/// (<see cref="ExtraKey.Tensor(string)"/>) or values shared by the whole call (<see cref="ExtraKey.Shared{T}(string)"/>);
/// construct one directly to batch values your own way.
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
/// <param name="name">The kind's name, namespaced like a node id (<c>controlnet.hint</c>).</param>
/// <param name="combine">
/// Builds the value of one batched model call from the values of the conditionings filling its rows, in row order
/// (a guider's negative rows, then its positive rows); a conditioning without the extra gives a null value.
/// Called only when at least one of them carries it.
/// </param>
public sealed class ExtraKey<T>(string name, ExtraCombiner<T> combine) : ExtraKey(name) where T : class
{
    /// <inheritdoc />
    public override Type ValueType => typeof(T);

    /// <summary>Builds the value of one batched call from the parts filling its rows.</summary>
    /// <param name="parts">One part per conditioning, in row order.</param>
    public T Combine(IReadOnlyList<ExtraPart<T>> parts) => combine(parts);

    internal override object Combine(IReadOnlyList<(object? Value, int Rows)> parts)
    {
        var typed = new ExtraPart<T>[parts.Count];
        for (var i = 0; i < typed.Length; i++) typed[i] = new ExtraPart<T>(parts[i].Value as T, parts[i].Rows);
        return combine(typed);
    }
}
