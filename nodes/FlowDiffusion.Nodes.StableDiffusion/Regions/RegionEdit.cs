using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Regions;

/// <summary>Sets part of the region of a conditioning, and of every part of a combined one (as ComfyUI sets it on each entry).</summary>
internal static class RegionEdit
{
    public static Conditioning Apply(Conditioning conditioning, Func<ConditioningRegion, ConditioningRegion> edit) =>
        CombinedConditionings.Each(conditioning, part => part.With(ConditioningRegion.Key, edit(ConditioningRegion.Of(part) ?? ConditioningRegion.None)));
}
