using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>A merge of two UNet handles: unet1 with one <see cref="WeightMerge"/> per weight.</summary>
internal static class UNetMerging
{
    /// <summary>
    /// <paramref name="first"/> with its weights merged with <paramref name="second"/>'s at each weight's strengths;
    /// <paramref name="first"/> itself when every weight keeps its value (strengths 1 and 0).
    /// </summary>
    /// <exception cref="ArgumentException">A UNet cannot take overrides, or the UNets' weights differ (named).</exception>
    public static IUNetModel Merge(IUNetModel? first, IUNetModel? second, Func<string, (float Model, float Patch)> strengths)
    {
        var one = first as OnnxUNetModel ?? throw NotMergeable("unet1", first);
        var two = second as OnnxUNetModel ?? throw NotMergeable("unet2", second);
        var overrides = ModelMerge.Overrides(MergeSource.Of(one.Model), MergeSource.Of(two.Model), "unet1", "unet2", textEncoder: false, strengths);
        return overrides.Count == 0 ? one : one.WithOverrides(overrides);
    }

    /// <summary>
    /// As <see cref="Merge"/>, with the strengths function made from the names of the weights the merge combines (which
    /// number the UNet's blocks, e.g. to find their LDM names).
    /// </summary>
    /// <exception cref="ArgumentException">A UNet cannot take overrides, or the UNets' weights differ (named).</exception>
    public static IUNetModel MergeByNames(IUNetModel? first, IUNetModel? second, Func<IReadOnlyCollection<string>, Func<string, (float Model, float Patch)>> strengthsOf)
    {
        var one = first as OnnxUNetModel ?? throw NotMergeable("unet1", first);
        var names = MergeSource.Of(one.Model).Weights.Where(w => ModelMerge.Takes(w, textEncoder: false)).Select(w => w.Name).ToList();
        return Merge(first, second, strengthsOf(names));
    }

    private static ArgumentException NotMergeable(string input, IUNetModel? model) =>
        new($"{input}: this UNet ({model?.GetType().Name ?? "none"}) cannot take weight overrides, so it cannot be merged.");
}
