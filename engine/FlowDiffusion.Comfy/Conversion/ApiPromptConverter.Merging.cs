using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's model merging: ModelMergeSimple, ModelMergeAdd, ModelMergeSubtract and ModelMergeBlocks → unet.merge and
/// unet.merge_blocks, CLIPMergeSimple, CLIPMergeAdd and CLIPMergeSubtract → clip.merge. ComfyUI adds model2's weights to a
/// clone of model1 as patches (strength_patch, strength_model): each weight becomes model1's · strength_model + model2's ·
/// strength_patch, which our nodes' strength1 and strength2 are. The result is model1's value otherwise (its scheduler
/// configuration, RescaleCFG and DifferentialDiffusion patches; clip1's tokenizer and CLIP skip), as ComfyUI clones it.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // ModelMergeSimple: (ratio, 1 − ratio); ModelMergeAdd: (1, 1); ModelMergeSubtract: (multiplier, −multiplier).
    private ComfyValue[]? ModelMerge(string id, JsonObject inputs, string type)
    {
        var first = Link<ModelValue>(id, inputs, "model1");
        var second = Link<ModelValue>(id, inputs, "model2");
        var strengths = MergeStrengths(id, inputs, type);
        if (first is null || second is null || strengths is null) return null;
        var node = Add(id, null, "unet.merge", [("unet1", first.Unet), ("unet2", second.Unet)],
            [("strength1", strengths.Value.First), ("strength2", strengths.Value.Second)]);
        return [first with { Unet = $"{node}.merged" }];
    }

    // ModelMergeBlocks → unet.merge_blocks with the input, middle and out ratios.
    private ComfyValue[]? ModelMergeBlocks(string id, JsonObject inputs)
    {
        var first = Link<ModelValue>(id, inputs, "model1");
        var second = Link<ModelValue>(id, inputs, "model2");
        var input = Number(id, inputs, "input", 1);
        var middle = Number(id, inputs, "middle", 1);
        var output = Number(id, inputs, "out", 1);
        if (first is null || second is null || input is null || middle is null || output is null
            || !Within(id, "input", input.Value, 0, 1) | !Within(id, "middle", middle.Value, 0, 1) | !Within(id, "out", output.Value, 0, 1))
            return null;
        var node = Add(id, null, "unet.merge_blocks", [("unet1", first.Unet), ("unet2", second.Unet)],
            [("input", input.Value), ("middle", middle.Value), ("out", output.Value)]);
        return [first with { Unet = $"{node}.merged" }];
    }

    // CLIPMergeSimple, CLIPMergeAdd, CLIPMergeSubtract → clip.merge (position ids and logit scale stay clip1's, as there).
    private ComfyValue[]? ClipMerge(string id, JsonObject inputs, string type)
    {
        var first = Link<ClipValue>(id, inputs, "clip1");
        var second = Link<ClipValue>(id, inputs, "clip2");
        var strengths = MergeStrengths(id, inputs, type);
        if (first is null || second is null || strengths is null) return null;
        var node = Add(id, null, "clip.merge", [("clip1", first.Clip), ("clip2", second.Clip)],
            [("strength1", strengths.Value.First), ("strength2", strengths.Value.Second)]);
        return [first with { Clip = $"{node}.merged" }];
    }

    private (double First, double Second)? MergeStrengths(string id, JsonObject inputs, string type)
    {
        if (type.EndsWith("Add", StringComparison.Ordinal)) return (1, 1);
        if (type.EndsWith("Subtract", StringComparison.Ordinal))
        {
            var multiplier = Number(id, inputs, "multiplier", 1);
            return multiplier is null || !Within(id, "multiplier", multiplier.Value, -10, 10) ? null : (multiplier.Value, -multiplier.Value);
        }
        var ratio = Number(id, inputs, "ratio", 1);
        return ratio is null || !Within(id, "ratio", ratio.Value, 0, 1) ? null : (ratio.Value, 1 - ratio.Value);
    }
}
