using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// unet.hypertile on the tiny SD 1.x checkpoint through model.load (whose every UNet graph takes HyperTile's tiles): its
/// prediction against ComfyUI's HyperTile in torch (tools/reference/make_hypertile.py, tolerance 1e-4), the plain UNet
/// bit for bit where nothing is tiled, and the refusals: settings out of range or a random swap_size naming the input,
/// PAG with the middle block tiled (the tiny UNet's middle block is at depth 1).
/// </summary>
public sealed class UNetHyperTileTests
{
    private const double Tolerance = 1e-4;
    private static readonly string TestData = UNetPatchReference.TestData;
    private static readonly string Checkpoint = Path.Combine(TestData, "sd1-tiny", "ldm-fp16.safetensors");
    private static readonly UNetPatchReference Reference = new(Checkpoint, "hypertile", 64);

    [Fact]
    public async Task Through_model_load_it_matches_torch_and_a_single_tile_is_the_plain_UNet_bit_for_bit()
    {
        var run = await Reference.RunAsync("""
              t: { node: unet.hypertile, in: { unet: m1.unet }, with: { tile_size: 32, max_depth: 1 } }
              one: { node: unet.hypertile, in: { unet: m1.unet }, with: { max_depth: 1 } }
            """);

        var tiled = await Reference.PredictAsync(UNetPatchReference.Unet(run, "t", "unet_out"), "square_depth1");
        var worst = UNetPatchReference.MaxDifference(Reference.Ref("square_depth1.out_sample"), tiled);
        Assert.True(worst <= Tolerance, $"HyperTile out_sample: max |difference| {worst:G4} exceeds {Tolerance}");
        var plain = await Reference.PredictAsync(UNetPatchReference.Unet(run, "m1", "unet"), "square_depth1");
        Assert.True(UNetPatchReference.MaxDifference(plain, tiled) > 0.3, "HyperTile should change the prediction");
        Assert.Equal(plain, await Reference.PredictAsync(UNetPatchReference.Unet(run, "one", "unet_out"), "square_depth1"));
    }

    [Fact]
    public async Task A_sample_with_PAG_fails_naming_max_depth_when_the_middle_block_is_tiled()
    {
        var run = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: hypertile-pag
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              t: {"{"} node: unet.hypertile, in: {"{"} unet: m1.unet {"}"}, with: {"{"} tile_size: 32, max_depth: 1 {"}"} {"}"}
              tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: m1.tokenizer {"}"}, with: {"{"} text: a red circle {"}"} {"}"}
              positive: {"{"} node: clip.encode, in: {"{"} clip: m1.clip, tokens: tokens.tokens {"}"} {"}"}
              denoiser: {"{"} node: unet.denoiser, in: {"{"} unet: t.unet_out {"}"} {"}"}
              guider: {"{"} node: guidance.cfg, in: {"{"} denoiser: denoiser.denoiser, positive: positive.conditioning, negative: positive.conditioning, config: m1.scheduler_config {"}"}, with: {"{"} scale: 5, pag_scale: 3 {"}"} {"}"}
              schedule: {"{"} node: diffusion.scheduler, in: {"{"} config: m1.scheduler_config {"}"}, with: {"{"} name: euler, steps: 2 {"}"} {"}"}
              noise: {"{"} node: latent.noise, in: {"{"} unet: m1.unet {"}"}, with: {"{"} seed: 5, width: 128, height: 128 {"}"} {"}"}
              sample: {"{"} node: diffusion.sample, in: {"{"} guider: guider.guider, schedule: schedule.schedule, noise: noise.noise {"}"} {"}"}
            """, new Dictionary<string, object?>());

        Assert.Equal(RunStatus.Failed, run.Result.Status);
        Assert.Contains("tiles the UNet's middle block", run.Result.Error);
        Assert.Contains("max_depth 1", run.Result.Error);
    }

    [Theory]
    [InlineData("tile_size: 0", "tile_size")]
    [InlineData("swap_size: 129", "swap_size")]
    [InlineData("max_depth: 11", "max_depth")]
    public void Settings_out_of_range_are_refused_before_the_run_naming_the_input(string setting, string input)
    {
        var validation = SdEngine.Shared.Parse($"""
            flowdiffusion: 1
            name: hypertile-range
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              t: {"{"} node: unet.hypertile, in: {"{"} unet: m1.unet {"}"}, with: {"{"} {setting} {"}"} {"}"}
            """, new Dictionary<string, object?>());

        Assert.False(validation.IsValid);
        Assert.Contains(validation.Diagnostics, d => d.ToString()!.Contains($"node 't': parameter '{input}'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_swap_size_that_ComfyUI_draws_at_random_fails_the_node_naming_it()
    {
        var run = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: hypertile-swap
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              t: {"{"} node: unet.hypertile, in: {"{"} unet: m1.unet {"}"}, with: {"{"} swap_size: 3 {"}"} {"}"}
            """, new Dictionary<string, object?>());

        run.AssertFailed("t", "swap_size 3 is not supported");
    }
}
