using System.Globalization;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's model merging: ModelMergeSimple, ModelMergeAdd, ModelMergeSubtract and ModelMergeBlocks → unet.merge and
/// unet.merge_blocks, ModelMergeSD1, ModelMergeSD2 and ModelMergeSDXL → unet.merge_blocks with its blocks list, CLIPMergeSimple, CLIPMergeAdd and CLIPMergeSubtract → clip.merge. ComfyUI adds model2's weights to a
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

    /// <summary>
    /// The block inputs of ModelMergeSD1 (ModelMergeSD2 is the same class) and ModelMergeSDXL, in ComfyUI's order: prefixes
    /// of the UNet's LDM keys (SDXL's block prefixes have no trailing dot, as there); null for other classes.
    /// </summary>
    internal static IReadOnlyList<string>? ModelMergeBlockPrefixes(string classType) => classType switch
    {
        "ModelMergeSD1" or "ModelMergeSD2" => Sd1BlockPrefixes,
        "ModelMergeSDXL" => SdxlBlockPrefixes,
        _ => null,
    };

    private static readonly string[] Sd1BlockPrefixes = BlockPrefixes(12, ".");

    private static readonly string[] SdxlBlockPrefixes = BlockPrefixes(9, "");

    private static string[] BlockPrefixes(int blocks, string end) =>
    [
        "time_embed.", "label_emb.", .. Enumerable.Range(0, blocks).Select(i => $"input_blocks.{i}{end}"), .. Enumerable.Range(0, 3).Select(i => $"middle_block.{i}{end}"),
        .. Enumerable.Range(0, blocks).Select(i => $"output_blocks.{i}{end}"), "out.",
    ];

    // ModelMergeSD1, ModelMergeSD2, ModelMergeSDXL → unet.merge_blocks with one prefix=ratio pair per block input, in
    // ComfyUI's order (time_embed. first: its ratio is the default of keys no prefix matches).
    private ComfyValue[]? ModelMergeModelSpecific(string id, JsonObject inputs, string type)
    {
        var first = Link<ModelValue>(id, inputs, "model1");
        var second = Link<ModelValue>(id, inputs, "model2");
        var prefixes = ModelMergeBlockPrefixes(type)!;
        var ratios = prefixes.Select(prefix => Number(id, inputs, prefix, 1)).ToArray();
        if (first is null || second is null || ratios.Any(r => r is null)) return null;
        var valid = true;
        for (var i = 0; i < prefixes.Count; i++) valid &= Within(id, prefixes[i], ratios[i]!.Value, 0, 1);
        if (!valid) return null;
        var blocks = string.Join(", ", prefixes.Select((prefix, i) => prefix + "=" + ratios[i]!.Value.ToString("R", CultureInfo.InvariantCulture)));
        var node = Add(id, null, "unet.merge_blocks", [("unet1", first.Unet), ("unet2", second.Unet)], [("blocks", blocks)]);
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
