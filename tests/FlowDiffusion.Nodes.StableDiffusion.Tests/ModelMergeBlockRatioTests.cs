using System.Globalization;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// unet.merge_blocks with per-block ratios (ComfyUI's ModelMergeSD1/SD2/SDXL): on the tiny SD 1.x and SDXL checkpoints and
/// a copy of each with other weights, every UNet weight of the merge against the closed form model1 · r + model2 · (1 − r),
/// r the ratio of the longest prefix of the weight's checkpoint key (under model.diffusion_model.) among the pairs, the
/// first pair's where none matches.
/// </summary>
public sealed class ModelMergeBlockRatioTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");

    // ComfyUI's ModelMergeSD1 and ModelMergeSDXL inputs, in their order (SDXL's block prefixes have no trailing dot).
    private static readonly string[] Sd1Prefixes =
        ["time_embed.", "label_emb.", .. Numbered("input_blocks.{0}.", 12), .. Numbered("middle_block.{0}.", 3), .. Numbered("output_blocks.{0}.", 12), "out."];

    private static readonly string[] SdxlPrefixes =
        ["time_embed.", "label_emb.", .. Numbered("input_blocks.{0}", 9), .. Numbered("middle_block.{0}", 3), .. Numbered("output_blocks.{0}", 9), "out."];

    [Theory]
    [InlineData("sd1-tiny/ldm-fp16.safetensors", "sd1")]
    [InlineData("sdxl-tiny/sdxl-fp16.safetensors", "sdxl")]
    [InlineData("sd1-tiny/ldm-fp16.safetensors", "nested")]
    [InlineData("sdxl-tiny/sdxl-fp16.safetensors", "default")]
    public async Task Each_weight_takes_the_ratio_of_its_longest_ldm_prefix(string checkpoint, string layout)
    {
        var first = Path.Combine(Data, checkpoint);
        var second = ModelMergeTests.WriteRolled(first);
        // Distinct ratios per block; "nested" adds longer prefixes inside blocks, "default" leaves most keys to the first pair.
        (string Prefix, double Ratio)[] pairs = layout switch
        {
            "sd1" => [.. Sd1Prefixes.Select((p, i) => (p, Ratio(i)))],
            "sdxl" => [.. SdxlPrefixes.Select((p, i) => (p, Ratio(i)))],
            "nested" => [("input_blocks.", 0.2), ("input_blocks.3.1.", 0.85), ("middle_block.", 0.6), ("middle_block.1.transformer_blocks.0.attn2.", 0.45), ("out", 0.35)],
            _ => [("middle_block.0.", 0.15), ("output_blocks.2", 0.7)],
        };
        var blocks = string.Join(", ", pairs.Select(p => $"{p.Prefix}={p.Ratio.ToString("R", CultureInfo.InvariantCulture)}"));
        var yaml = $"""
            flowdiffusion: 1
            name: merge-blocks
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{first}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              m2: {"{"} node: model.load, with: {"{"} path: "{second}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              merge: {"{"} node: unet.merge_blocks, in: {"{"} unet1: m1.unet, unet2: m2.unet {"}"}, with: {"{"} blocks: "{blocks}" {"}"} {"}"}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var merged = Assert.IsAssignableFrom<IOverridableModel<IUNetModel>>(run.Result.Output("merge", "merged"));
        var graph = OnnxModelFile.Read(ModelMergeTests.ModelFile(run, "m1", "unet"));

        using var one = SafetensorsFile.Open(first);
        using var two = SafetensorsFile.Open(second);
        var names = LdmKeyMap.Map([.. one.Tensors.Keys], first);
        var checkedKeys = 0;
        var ratiosSeen = new HashSet<double>();
        foreach (var key in one.Tensors.Keys.Where(k => k.StartsWith(LdmKeyMap.UNetPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var ldm = key[LdmKeyMap.UNetPrefix.Length..];
            var (ratio, length) = (pairs[0].Ratio, 0);
            foreach (var (prefix, value) in pairs)
                if (prefix.Length > length && ldm.StartsWith(prefix, StringComparison.Ordinal)) (ratio, length) = (value, prefix.Length);
            var name = names[key].Name;
            ModelMergeTests.AssertClosedForm(ModelMergeTests.Bound(merged.Overrides, graph, name), one.ReadFloat32(key), two.ReadFloat32(key),
                (float)ratio, (float)(1 - ratio), $"{layout} {key} → {name} (ratio {ratio})");
            checkedKeys++;
            ratiosSeen.Add(ratio);
        }

        Assert.True(checkedKeys > 200, $"{checkedKeys} UNet keys checked");
        // Every pair that names a block of this UNet was used.
        var used = pairs.Where(p => one.Tensors.Keys.Any(k => k.StartsWith(LdmKeyMap.UNetPrefix + p.Prefix, StringComparison.Ordinal))).Select(p => p.Ratio).ToHashSet();
        Assert.Superset(used, ratiosSeen);
        Assert.True(used.Count >= (layout is "sd1" or "sdxl" ? 12 : 2), $"{used.Count} ratios used");
    }

    [Theory]
    [InlineData("blocks: \"input_blocks.0.=1.5\"", "blocks 'input_blocks.0.' must be 0 … 1")]
    [InlineData("blocks: \"input_blocks.0.\"", "'input_blocks.0.' is no prefix=ratio pair")]
    [InlineData("blocks: \"out.=0.5, out.=0.2\"", "prefix 'out.' is given twice")]
    [InlineData("blocks: \"out.=half\"", "the ratio of 'out.' is no number: 'half'")]
    [InlineData("blocks: \"out.=0.5\", middle: 0.3", "blocks replaces input, middle and out")]
    public async Task A_bad_blocks_list_fails_the_node_naming_the_pair(string settings, string message)
    {
        var first = Path.Combine(Data, "sd1-tiny", "ldm-fp16.safetensors");
        var run = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: merge-blocks-bad
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{first}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              merge: {"{"} node: unet.merge_blocks, in: {"{"} unet1: m1.unet, unet2: m1.unet {"}"}, with: {"{"} {settings} {"}"} {"}"}
            """, new Dictionary<string, object?>());

        Assert.Equal("merge", run.Result.FailedNode);
        Assert.Contains(message, run.Result.Error);
    }

    private static double Ratio(int index) => Math.Round(0.03 + 0.031 * index, 3);

    private static IEnumerable<string> Numbered(string format, int count) =>
        Enumerable.Range(0, count).Select(i => string.Format(CultureInfo.InvariantCulture, format, i));
}
