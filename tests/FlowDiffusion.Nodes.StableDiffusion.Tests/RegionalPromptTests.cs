using System.Globalization;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// conditioning.set_area / set_area_fraction / set_mask with ComfyUI's semantics (calc_cond_batch): on analytic-sd, whose
/// UNet is per pixel, each 8-pixel column must come out as the weight-normalised blend of the prompts' colours computed by
/// hand below; on tiny-sd (a real convolutional UNet) the guided prediction must equal the blend of separate predictions on
/// the whole latent and on the mask's bounding box.
/// </summary>
public sealed class RegionalPromptTests
{
    // Karras sigmas end at sigma 0, so colours come out exact (even at the bounds 0 and 1).
    private static readonly Dictionary<string, object?> Analytic = new()
    {
        ["model"] = "models/analytic-sd", ["width"] = "256", ["height"] = "128", ["steps"] = "8", ["seed"] = "3", ["cfg"] = "1",
        ["scheduler"] = "euler", ["karras"] = "true", ["negative"] = "",
    };

    [Fact]
    public async Task Halves_blend_with_the_background_by_strength_with_comfyuis_eight_pixel_ramp_at_inner_edges()
    {
        var inputs = new Dictionary<string, object?>(Analytic) { ["background"] = "blue", ["left"] = "red", ["right"] = "white", ["strength"] = "2" };
        var run = (await SdEngine.Shared.RunFileAsync("regional-prompts.yaml", inputs)).AssertCompleted();

        // Latent 32 × 16; each half is 16 latent columns, its ramp min(8, 16 / 4) = 4 columns at the inner edge only:
        // left weights 2 up to column 12, then 1.5, 1, 0.5 (column 15); right 0.5, 1, 1.5 (columns 16–18), then 2.
        // colour = (blue + w_left·red + w_right·white) / (1 + w_left + w_right).
        var expected = new Dictionary<int, Colour>
        {
            [0] = new(2.0 / 3, 0, 1.0 / 3), [12] = new(2.0 / 3, 0, 1.0 / 3), [13] = new(0.6, 0, 0.4), [14] = new(0.5, 0, 0.5), [15] = new(1.0 / 3, 0, 2.0 / 3),
            [16] = new(1.0 / 3, 1.0 / 3, 1), [17] = new(0.5, 0.5, 1), [18] = new(0.6, 0.6, 1), [19] = new(2.0 / 3, 2.0 / 3, 1), [31] = new(2.0 / 3, 2.0 / 3, 1),
        };
        AssertColumns(run.Image(), expected);
    }

    [Fact]
    public async Task Each_area_gets_a_partner_in_the_other_list_from_the_smallest_enclosing_conditioning()
    {
        // Positive: gray everywhere + white on the left half (A, latent columns 0–15). Negative: gray everywhere + black on
        // the left three quarters (B, columns 0–23). ComfyUI gives A a partner in the negative from B (the smallest
        // negative area enclosing it: black with A's weights) and B a partner in the positive from gray (no positive area
        // encloses B). Ramps: A 4 columns (1 up to 12, .75, .5, .25), B min(8, 24 / 4) = 6 columns (1 up to 18, 5/6 … 1/6).
        // positive = (½ + wA + ½·wB) / (1 + wA + wB), negative = ½ / (1 + wB + wA), guided at 1.5.
        var yaml = Graph(
            positive: Area("pos_area", "white", 0, 128, "pos_base"),
            negative: Area("neg_area", "black", 0, 192, "neg_base"),
            positiveOut: "pos_area_all.conditioning", negativeOut: "neg_area_all.conditioning", cfg: 1.5);
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        static double Guided(double wA, double wB)
        {
            var positive = (0.5 + wA + 0.5 * wB) / (1 + wA + wB);
            var negative = 0.5 / (1 + wA + wB);
            return Math.Clamp(negative + 1.5 * (positive - negative), 0, 1);
        }

        var expected = new Dictionary<int, Colour>();
        double[] a = [.. Enumerable.Repeat(1.0, 13), 0.75, 0.5, 0.25, .. Enumerable.Repeat(0.0, 16)];
        double[] b = [.. Enumerable.Repeat(1.0, 19), 5 / 6.0, 4 / 6.0, 3 / 6.0, 2 / 6.0, 1 / 6.0, .. Enumerable.Repeat(0.0, 8)];
        foreach (var column in new[] { 0, 12, 13, 14, 15, 16, 19, 21, 23, 24, 31 })
        {
            var v = Guided(a[column], b[column]);
            expected[column] = new Colour(v, v, v);
        }

        // Without partners column 0 would be ¼ + 1.5·(¾ − ¼) = 1; with them 1/6 + 1.5·(2/3 − 1/6) = 11/12.
        Assert.Equal(11 / 12.0, expected[0].R, 9);
        AssertColumns(run.Image(), expected);
    }

    [Fact]
    public async Task A_mask_weighs_its_prompt_by_mask_times_strength_and_nothing_outside_any_region_predicts_zero()
    {
        using var temp = new TempFolder();
        var mask = Path.Combine(temp.Path, "right-quarter.png");
        TestPng.WriteGray(mask, 256, 128, (x, _) => x >= 192 ? (byte)255 : (byte)0);
        var yaml = Graph(
            positive: $"""
                  green_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: model.tokenizer {"}"}, with: {"{"} text: green {"}"} {"}"}
                  green: {"{"} node: clip.encode, in: {"{"} clip: model.clip, tokens: green_tokens.tokens {"}"} {"}"}
                  mask: {"{"} node: mask.load, with: {"{"} path: "{mask}" {"}"} {"}"}
                  green_masked: {"{"} node: conditioning.set_mask, in: {"{"} conditioning: green.conditioning, mask: mask.mask {"}"}, with: {"{"} strength: 0.5, set_cond_area: mask_bounds {"}"} {"}"}
                  positive: {"{"} node: conditioning.combine, in: {"{"} a: pos_base.conditioning, b: green_masked.result {"}"} {"}"}

                """,
            negative: "", positiveOut: "positive.conditioning", negativeOut: "neg_base.conditioning", cfg: 1, background: "blue");
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        // Columns 24–31: (blue + 0.5·green) / 1.5; elsewhere blue alone.
        AssertColumns(run.Image(), new Dictionary<int, Colour> { [0] = new(0, 0, 1), [23] = new(0, 0, 1), [24] = new(0, 1.0 / 3, 2.0 / 3), [31] = new(0, 1.0 / 3, 2.0 / 3) });

        // The green prompt alone on its mask: outside every region the prediction is 0, ε = 0, and the latent stays the noise.
        var alone = Graph(positive: $"""
                  green_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: model.tokenizer {"}"}, with: {"{"} text: green {"}"} {"}"}
                  green: {"{"} node: clip.encode, in: {"{"} clip: model.clip, tokens: green_tokens.tokens {"}"} {"}"}
                  mask: {"{"} node: mask.load, with: {"{"} path: "{mask}" {"}"} {"}"}
                  green_masked: {"{"} node: conditioning.set_mask, in: {"{"} conditioning: green.conditioning, mask: mask.mask {"}"} {"}"}

                """, negative: "", positiveOut: "green_masked.result", negativeOut: "neg_base.conditioning", cfg: 1);
        var lone = (await SdEngine.Shared.RunYamlAsync(alone, new Dictionary<string, object?>())).AssertCompleted();
        AssertColumns(lone.Image(), new Dictionary<int, Colour> { [24] = new(0, 1, 0), [31] = new(0, 1, 0) });
        // Outside the mask every step scales the latent alone, so the result is the starting noise times one factor.
        var latent = Assert.IsType<Latent>(lone.Result.Output("sample", "latent")).ToArray();
        var noise = Assert.IsType<Latent>(lone.Result.Output("noise", "noise")).ToArray();
        var factor = latent[0] / noise[0];
        Assert.True(Math.Abs(factor) > 1, $"the latent must keep its noise outside the mask (factor {factor})");
        foreach (var i in new[] { 5, 32 * 7 + 3, 3 * 32 * 16 + 32 * 15 + 20 })
            Assert.Equal(factor * noise[i], latent[i], 1e-3f * Math.Abs(latent[i]) + 1e-3f);
    }

    [Fact]
    public async Task On_a_convolutional_unet_the_guided_prediction_blends_whole_latent_and_bounding_box_predictions()
    {
        using var temp = new TempFolder();
        var mask = Path.Combine(temp.Path, "l-shape.png");
        // White in pixels y 32–95, x 64–127 except the quarter y < 64, x < 96: bounding box latent rows 4–11, columns 8–15.
        static bool White(int y, int x) => y is >= 32 and < 96 && x >= 64 && !(y < 64 && x < 96);
        TestPng.WriteGray(mask, 128, 128, (x, y) => White(y, x) ? (byte)255 : (byte)0);
        var yaml = $"""
            flowdiffusion: 1
            name: regional-tiny
            nodes:
              model: {"{"} node: model.load, with: {"{"} path: models/tiny-sd {"}"} {"}"}
              base_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: model.tokenizer {"}"}, with: {"{"} text: a house {"}"} {"}"}
              base: {"{"} node: clip.encode, in: {"{"} clip: model.clip, tokens: base_tokens.tokens {"}"} {"}"}
              tree_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: model.tokenizer {"}"}, with: {"{"} text: a tree {"}"} {"}"}
              tree: {"{"} node: clip.encode, in: {"{"} clip: model.clip, tokens: tree_tokens.tokens {"}"} {"}"}
              neg_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: model.tokenizer {"}"}, with: {"{"} text: "" {"}"} {"}"}
              neg: {"{"} node: clip.encode, in: {"{"} clip: model.clip, tokens: neg_tokens.tokens {"}"} {"}"}
              mask: {"{"} node: mask.load, with: {"{"} path: "{mask}" {"}"} {"}"}
              tree_masked: {"{"} node: conditioning.set_mask, in: {"{"} conditioning: tree.conditioning, mask: mask.mask {"}"}, with: {"{"} strength: 0.7, set_cond_area: mask_bounds {"}"} {"}"}
              positive: {"{"} node: conditioning.combine, in: {"{"} a: base.conditioning, b: tree_masked.result {"}"} {"}"}
              denoiser: {"{"} node: unet.denoiser, in: {"{"} unet: model.unet {"}"} {"}"}
              guider: {"{"} node: guidance.cfg, in: {"{"} denoiser: denoiser.denoiser, positive: positive.conditioning, negative: neg.conditioning {"}"}, with: {"{"} scale: 3 {"}"} {"}"}

            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var guider = Assert.IsAssignableFrom<IGuider>(run.Result.Output("guider", "guider"));
        var denoiser = Assert.IsAssignableFrom<IDenoiser>(run.Result.Output("denoiser", "denoiser"));
        Conditioning Encoded(string node) => Assert.IsType<Conditioning>(run.Result.Output(node, "conditioning"));

        const int Size = 16;
        var random = new Random(7);
        var sample = Enumerable.Range(0, 4 * Size * Size).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var guided = await guider.PredictAsync(new GuidanceInput(sample, new LatentShape(1, 4, Size, Size), sample, 500f, null, 0, 1), CancellationToken.None);

        // By hand: the house and the empty prompt on the whole latent; the tree and (its partner) the empty prompt on the box.
        var whole = await denoiser.PredictAsync(new DenoiserInput(sample, new LatentShape(1, 4, Size, Size), 500f, Encoded("base")), CancellationToken.None);
        var wholeNegative = await denoiser.PredictAsync(new DenoiserInput(sample, new LatentShape(1, 4, Size, Size), 500f, Encoded("neg")), CancellationToken.None);
        var box = new float[4 * 8 * 8];
        for (var c = 0; c < 4; c++)
        for (var y = 0; y < 8; y++)
        for (var x = 0; x < 8; x++)
            box[(c * 8 + y) * 8 + x] = sample[(c * Size + 4 + y) * Size + 8 + x];
        var tree = await denoiser.PredictAsync(new DenoiserInput(box, new LatentShape(1, 4, 8, 8), 500f, Encoded("tree")), CancellationToken.None);
        var boxNegative = await denoiser.PredictAsync(new DenoiserInput(box, new LatentShape(1, 4, 8, 8), 500f, Encoded("neg")), CancellationToken.None);

        var worst = 0.0;
        var moved = 0.0;
        for (var c = 0; c < 4; c++)
        for (var y = 0; y < Size; y++)
        for (var x = 0; x < Size; x++)
        {
            var i = (c * Size + y) * Size + x;
            var inBox = y is >= 4 and < 12 && x is >= 8 and < 16;
            var w = inBox && White(y * 8, x * 8) ? 0.7 : 0.0;
            var j = inBox ? (c * 8 + y - 4) * 8 + x - 8 : 0;
            var positive = inBox ? (whole[i] + w * tree[j]) / (1 + w) : whole[i];
            var negative = inBox ? (wholeNegative[i] + w * boxNegative[j]) / (1 + w) : wholeNegative[i];
            var expected = negative + 3 * (positive - negative);
            worst = Math.Max(worst, Math.Abs(expected - guided[i]));
            moved = Math.Max(moved, Math.Abs(expected - (wholeNegative[i] + 3 * (whole[i] - wholeNegative[i]))));
        }

        Assert.True(worst < 1e-4, $"max |difference| {worst:G4}");
        Assert.True(moved > 0.05, $"the tree's region must move the prediction ({moved:G4})");
    }

    [Fact]
    public async Task An_area_outside_the_image_fails_the_run_naming_the_area_and_the_image_size()
    {
        var yaml = Graph(positive: Area("pos_area", "red", 512, 64, "pos_base"), negative: "", positiveOut: "pos_area_all.conditioning",
            negativeOut: "neg_base.conditioning", cfg: 1);
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());

        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Equal("sample", run.Result.FailedNode);
        Assert.Contains("area (x 512, y 0, 64×128 pixels) lies outside the 256×128 image", run.Result.Error);
    }

    // Mean colour of each 8-pixel column block (all rows), against the expected colour of that latent column.
    private static void AssertColumns(Image image, IReadOnlyDictionary<int, Colour> expected)
    {
        foreach (var (column, colour) in expected)
            Colour.Near(colour, Colour.MeanOf(image, where: (_, x) => x / 8 == column), 0.01, $"latent column {column}:");
    }

    private static string Area(string id, string prompt, int x, int width, string baseId) => $"""
              {id}_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: model.tokenizer {"}"}, with: {"{"} text: {prompt} {"}"} {"}"}
              {id}_encoded: {"{"} node: clip.encode, in: {"{"} clip: model.clip, tokens: {id}_tokens.tokens {"}"} {"}"}
              {id}: {"{"} node: conditioning.set_area, in: {"{"} conditioning: {id}_encoded.conditioning {"}"}, with: {"{"} x: {x}, y: 0, width: {width}, height: 128 {"}"} {"}"}
              {id}_all: {"{"} node: conditioning.combine, in: {"{"} a: {baseId}.conditioning, b: {id}.result {"}"} {"}"}

            """;

    // analytic-sd at 256 × 128 with a gray (or given) background on both sides; the caller adds region nodes.
    private static string Graph(string positive, string negative, string positiveOut, string negativeOut, double cfg, string background = "gray") => $"""
        flowdiffusion: 1
        name: regional
        nodes:
          model: {"{"} node: model.load, with: {"{"} path: models/analytic-sd {"}"} {"}"}
          pos_base_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: model.tokenizer {"}"}, with: {"{"} text: {background} {"}"} {"}"}
          pos_base: {"{"} node: clip.encode, in: {"{"} clip: model.clip, tokens: pos_base_tokens.tokens {"}"} {"}"}
          neg_base_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: model.tokenizer {"}"}, with: {"{"} text: gray {"}"} {"}"}
          neg_base: {"{"} node: clip.encode, in: {"{"} clip: model.clip, tokens: neg_base_tokens.tokens {"}"} {"}"}
        {positive}{negative}  denoiser: {"{"} node: unet.denoiser, in: {"{"} unet: model.unet {"}"} {"}"}
          guider: {"{"} node: guidance.cfg, in: {"{"} denoiser: denoiser.denoiser, positive: {positiveOut}, negative: {negativeOut} {"}"}, with: {"{"} scale: {cfg.ToString(CultureInfo.InvariantCulture)} {"}"} {"}"}
          schedule: {"{"} node: diffusion.scheduler, in: {"{"} config: model.scheduler_config {"}"}, with: {"{"} name: euler, steps: 8, karras: true {"}"} {"}"}
          noise: {"{"} node: latent.noise, in: {"{"} unet: model.unet {"}"}, with: {"{"} seed: 3, width: 256, height: 128 {"}"} {"}"}
          sample: {"{"} node: diffusion.sample, in: {"{"} guider: guider.guider, schedule: schedule.schedule, noise: noise.noise {"}"} {"}"}
          decode: {"{"} node: vae.decode, in: {"{"} vae: model.vae, latent: sample.latent {"}"} {"}"}

        """;
}
