namespace FlowDiffusion.Sdk.Values;

/// <summary>Builds the value of an extra for one batched model call from the values of the conditionings filling its rows.</summary>
/// <typeparam name="T">The extra's value type.</typeparam>
/// <param name="parts">One part per conditioning, in row order; <see cref="ExtraPart{T}.Value"/> is null where a conditioning lacks the extra.</param>
/// <returns>The value for the whole call, covering the sum of the parts' rows (or one value for every row).</returns>
public delegate T ExtraCombiner<T>(IReadOnlyList<ExtraPart<T>> parts) where T : class;
