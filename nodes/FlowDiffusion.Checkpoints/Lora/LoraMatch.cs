namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>What a LoRA file changes in a model: the matched modules, and every key that changes nothing, with why.</summary>
/// <param name="Path">The LoRA file.</param>
/// <param name="Format">The key layout found: <c>kohya</c>, <c>diffusers</c>, both, or <c>none</c>.</param>
/// <param name="Modules">The updates, one per model weight.</param>
/// <param name="Unmatched">The keys no update uses, in file order.</param>
/// <param name="KeyCount">How many tensors the file holds.</param>
public sealed record LoraMatch(string Path, string Format, IReadOnlyList<LoraModule> Modules, IReadOnlyList<LoraUnmatchedKey> Unmatched, int KeyCount)
{
    /// <summary>How many of the file's keys the matched modules use.</summary>
    public int MatchedKeyCount => Modules.Sum(m => m.Keys.Count());

    /// <summary>The modules that change <paramref name="network"/>.</summary>
    public IEnumerable<LoraModule> For(LoraNetwork network) => Modules.Where(m => m.Network == network);
}
