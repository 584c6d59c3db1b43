using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// ComfyUI's model merging over weight overrides: model1 gets one <see cref="WeightMerge"/> per weight, reading model2's
/// value of it (with model2's own overrides, a LoRA say) when the session is created. The models must declare the same
/// weights: a missing, extra or differently shaped one is an error naming it, where ComfyUI skips it.
/// </summary>
internal static class ModelMerge
{
    /// <summary>
    /// The overrides that make <paramref name="first"/> the merge, each weight's strengths (model1's, model2's) given by
    /// <paramref name="strengths"/>; weights left as they are (strengths 1 and 0) get none.
    /// </summary>
    /// <exception cref="ArgumentException">The models' weights differ; the message names the first and the input.</exception>
    public static IReadOnlyList<WeightOverride> Overrides(
        MergeSource first, MergeSource second, string firstInput, string secondInput, bool textEncoder, Func<string, (float Model, float Patch)> strengths)
    {
        var weights = Paired(first.Weights, second.Weights, firstInput, secondInput, textEncoder);
        var identity = second.Identity;
        var overrides = new List<WeightOverride>();
        foreach (var weight in weights)
        {
            var (model, patch) = strengths(weight.Name);
            if (model == 1f && patch == 0f) continue;
            var name = weight.Name;
            overrides.Add(new WeightMerge(name, model, patch, cancellationToken => second.Read(name, cancellationToken), identity));
        }
        return overrides;
    }

    /// <summary>
    /// The weights a merge combines, in <paramref name="first"/>'s order, after checking that both models declare the same
    /// ones with the same shapes (their element types may differ: model2's values are converted to model1's type).
    /// </summary>
    /// <exception cref="ArgumentException">A weight is missing from one model or shaped differently; the first is named.</exception>
    public static IReadOnlyList<WeightInfo> Paired(IReadOnlyList<WeightInfo> first, IReadOnlyList<WeightInfo> second, string firstInput, string secondInput, bool textEncoder)
    {
        var merged = first.Where(w => Takes(w, textEncoder)).ToList();
        var others = second.Where(w => Takes(w, textEncoder)).ToDictionary(w => w.Name, StringComparer.Ordinal);
        foreach (var weight in merged)
        {
            if (!others.TryGetValue(weight.Name, out var other))
            {
                throw Mismatch(secondInput, $"{firstInput} has weight '{weight.Name}' ({Describe(weight)}), which {secondInput} lacks");
            }
            if (!other.Shape.SequenceEqual(weight.Shape))
            {
                throw Mismatch(secondInput, $"weight '{weight.Name}' is {Describe(weight)} in {firstInput} but {Describe(other)} in {secondInput}");
            }
        }
        var names = merged.Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        if (second.FirstOrDefault(w => Takes(w, textEncoder) && !names.Contains(w.Name)) is { } extra)
        {
            throw Mismatch(secondInput, $"{secondInput} has weight '{extra.Name}' ({Describe(extra)}), which {firstInput} lacks");
        }
        return merged;
    }

    /// <summary>
    /// Whether a merge combines <paramref name="weight"/>: a model parameter, as ComfyUI's state dict holds it, rather than
    /// a constant our graph builders store as an initializer (the sinusoidal timestep frequencies, GroupNorm's unit scale
    /// and zero shift inside InstanceNormalization, scalars), which adding or subtracting models would double or zero.
    /// Text encoders also keep their position ids and logit scale, as ComfyUI's CLIP merges skip them.
    /// </summary>
    public static bool Takes(WeightInfo weight, bool textEncoder)
    {
        if (weight.ElementType is null || weight.Shape.Aggregate(1L, (count, dim) => count * dim) <= 1) return false;
        var name = weight.Name;
        if (name.EndsWith("frequencies", StringComparison.Ordinal)
            || name.EndsWith(".group_scale", StringComparison.Ordinal) || name.EndsWith(".group_bias", StringComparison.Ordinal)
            || name.StartsWith("group_norm_ones", StringComparison.Ordinal) || name.StartsWith("group_norm_zeros", StringComparison.Ordinal))
        {
            return false;
        }
        return !textEncoder || !(name.EndsWith("position_ids", StringComparison.Ordinal) || name.EndsWith("logit_scale", StringComparison.Ordinal));
    }

    private static string Describe(WeightInfo weight) =>
        $"{weight.ElementType?.ToString().ToLowerInvariant()} [{string.Join(", ", weight.Shape)}]";

    private static ArgumentException Mismatch(string input, string what) =>
        new($"{input}: the models cannot be merged, they differ in architecture: {what}. Merge models of one family and size (e.g. two SD 1.5 checkpoints).");
}
