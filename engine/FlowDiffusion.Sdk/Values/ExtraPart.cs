namespace FlowDiffusion.Sdk.Values;

/// <summary>One conditioning's share of a batched model call, as an <see cref="ExtraCombiner{T}"/> sees it.</summary>
/// <typeparam name="T">The extra's value type.</typeparam>
/// <param name="Value">The conditioning's value of the extra, or null when it has none.</param>
/// <param name="Rows">How many consecutive batch rows of the call this conditioning fills.</param>
public readonly record struct ExtraPart<T>(T? Value, int Rows) where T : class;
