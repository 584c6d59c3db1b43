namespace FlowDiffusion.Sdk.Models;

/// <summary>A weight a model's graph declares, by name, without its values.</summary>
/// <param name="Name">The initializer name in the graph (e.g. <c>conv_in.weight</c>).</param>
/// <param name="ElementType">Its element type, or null for a type weight overrides cannot carry (int64 constants).</param>
/// <param name="Shape">Its dimensions.</param>
public sealed record WeightInfo(string Name, WeightElementType? ElementType, IReadOnlyList<long> Shape);
