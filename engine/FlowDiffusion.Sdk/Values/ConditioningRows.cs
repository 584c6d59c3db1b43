namespace FlowDiffusion.Sdk.Values;

/// <summary>One conditioning's share of a batched model call: it fills <paramref name="Rows"/> consecutive rows.</summary>
/// <param name="Conditioning">The conditioning (batch 1, repeated, or batch <paramref name="Rows"/>).</param>
/// <param name="Rows">How many rows of the call it fills.</param>
public readonly record struct ConditioningRows(Conditioning Conditioning, int Rows);
