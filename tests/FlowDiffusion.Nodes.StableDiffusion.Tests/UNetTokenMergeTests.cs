using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// unet.token_merge on the tiny SD 2.x checkpoint through model.load (whose every UNet graph takes ToMe's token order; its
/// first level attends at full resolution): its prediction against ComfyUI's TomePatchModel in torch
/// (tools/reference/make_tome.py, top-left dsts, tolerance 1e-4), ratio 0 the plain UNet bit for bit, and the refusals: a
/// ratio out of range naming the input, HyperTile and ToMe on one UNet in either order.
/// </summary>
public sealed class UNetTokenMergeTests
{
    private const double Tolerance = 1e-4;
    private static readonly string TestData = UNetPatchReference.TestData;
    private static readonly string Checkpoint = Path.Combine(TestData, "sd2-tiny", "sd2-fp16.safetensors");
    private static readonly UNetPatchReference Reference = new(Checkpoint, "tome", 128);

    [Fact]
    public async Task Through_model_load_it_matches_torch_and_ratio_0_is_the_plain_UNet_bit_for_bit()
    {
        var run = await Reference.RunAsync("""
              half: { node: unet.token_merge, in: { unet: m1.unet }, with: { ratio: 0.5 } }
              none: { node: unet.token_merge, in: { unet: m1.unet }, with: { ratio: 0 } }
            """);

        var merged = await Reference.PredictAsync(UNetPatchReference.Unet(run, "half", "unet_out"), "odd_wide_05");
        var worst = UNetPatchReference.MaxDifference(Reference.Ref("odd_wide_05.out_sample"), merged);
        Assert.True(worst <= Tolerance, $"ToMe out_sample: max |difference| {worst:G4} exceeds {Tolerance}");
        var plain = await Reference.PredictAsync(UNetPatchReference.Unet(run, "m1", "unet"), "odd_wide_05");
        Assert.True(UNetPatchReference.MaxDifference(plain, merged) > 0.3, "ToMe should change the prediction");
        Assert.Equal(plain, await Reference.PredictAsync(UNetPatchReference.Unet(run, "none", "unet_out"), "odd_wide_05"));
    }

    [Theory]
    [InlineData("ratio: -0.01")]
    [InlineData("ratio: 1.01")]
    public void A_ratio_out_of_range_is_refused_before_the_run_naming_it(string setting)
    {
        var validation = SdEngine.Shared.Parse($"""
            flowdiffusion: 1
            name: tome-range
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              t: {"{"} node: unet.token_merge, in: {"{"} unet: m1.unet {"}"}, with: {"{"} {setting} {"}"} {"}"}
            """, new Dictionary<string, object?>());

        Assert.False(validation.IsValid);
        Assert.Contains(validation.Diagnostics, d => d.ToString()!.Contains("node 't': parameter 'ratio'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("unet.hypertile", "unet.token_merge")]
    [InlineData("unet.token_merge", "unet.hypertile")]
    public async Task HyperTile_and_token_merging_on_one_UNet_fail_the_second_node_naming_both(string first, string second)
    {
        var run = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: tome-hypertile
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              a: {"{"} node: {first}, in: {"{"} unet: m1.unet {"}"} {"}"}
              b: {"{"} node: {second}, in: {"{"} unet: a.unet_out {"}"} {"}"}
            """, new Dictionary<string, object?>());

        run.AssertFailed("b", "HyperTile (unet.hypertile, ComfyUI's HyperTile) and token merging (unet.token_merge, ComfyUI's TomePatchModel)");
    }
}
