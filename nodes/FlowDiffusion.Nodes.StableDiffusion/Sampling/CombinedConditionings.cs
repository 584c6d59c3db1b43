using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// The conditionings <c>conditioning.combine</c> joined, carried as an extra of the first: as in ComfyUI, a guider
/// predicts with each and averages the predictions — not the embeddings. <see cref="CfgGuider"/> expands them into rows
/// of its one batched call; a guider that does not know this kind sees the first conditioning, and batching it with
/// others is an error that says so.
/// </summary>
internal sealed class CombinedConditionings(IReadOnlyList<Conditioning> parts)
{
    /// <summary>The extra's key.</summary>
    public static readonly ExtraKey<CombinedConditionings> Key = new("conditioning.combined", _ =>
        throw new ArgumentException("a combined conditioning (conditioning.combine) must be expanded by its guider; this guider batches it as one conditioning"));

    /// <summary>The conditionings, each without this extra, in order.</summary>
    public IReadOnlyList<Conditioning> Parts => parts;

    /// <summary>The conditionings <paramref name="conditioning"/> stands for: its parts when combined, else itself.</summary>
    public static IReadOnlyList<Conditioning> Of(Conditioning conditioning) =>
        conditioning.Extras.TryGet(Key, out var combined) ? combined.Parts : [conditioning];

    /// <summary>
    /// <paramref name="edit"/> applied to every part of <paramref name="conditioning"/> (to it alone when it is not
    /// combined), joined again: how a node that adds an extra (a ControlNet, SDXL's size conditioning …) reaches every
    /// part, as ComfyUI's nodes change every entry of a conditioning list.
    /// </summary>
    public static Conditioning Each(Conditioning conditioning, Func<Conditioning, Conditioning> edit) => Join([.. Of(conditioning).Select(edit)]);

    /// <summary>The combination of <paramref name="parts"/>: the first's embeddings and extras, plus the list.</summary>
    public static Conditioning Join(IReadOnlyList<Conditioning> parts) =>
        parts.Count == 1 ? parts[0] : parts[0].With(Key, new CombinedConditionings(parts));
}
