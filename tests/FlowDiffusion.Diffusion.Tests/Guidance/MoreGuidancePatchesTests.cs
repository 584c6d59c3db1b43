using System.Text.Json;
using FlowDiffusion.Diffusion.Guidance;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.LatentOperations;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Guidance;

/// <summary>
/// <see cref="GuidancePatches"/> with TCFG, LatentApplyOperationCFG (tone map and sharpen), Mahiro and EpsilonScaling,
/// alone and with APG, RescaleCFG, CFGZeroStar and CFGNorm, against torch (tools/comfy/guidance_patches_reference.py's
/// more_guidance_patches, run in FlowDiffusion's fixed order): ε- and v-models, batch 2, scale 1 (TCFG skipped, the latent
/// operation and EpsilonScaling acting on the conditional estimate). 10⁻⁴ relative.
/// </summary>
public sealed class MoreGuidancePatchesTests
{
    private static readonly JsonElement Cases =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "comfy", "guidance_patches.json"))).RootElement.GetProperty("more_guidance_patches");

    public static TheoryData<string> Names => [.. Cases.EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Names))]
    public void Matches_comfyuis_sampling_function_on_x0_estimates(string name)
    {
        var c = Cases.EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var shape = c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int batch = shape[0], channels = shape[1], plane = shape[2] * shape[3];
        var patches = Patches(c);
        var scale = c.GetProperty("scale").GetSingle();
        var moved = 0.0;
        foreach (var evaluation in c.GetProperty("evaluations").EnumerateArray())
        {
            var conditional = Floats(evaluation, "conditional");
            var unconditional = evaluation.GetProperty("unconditional").ValueKind == JsonValueKind.Null ? [] : Floats(evaluation, "unconditional");
            var expected = Floats(evaluation, "expected");
            var result = new float[conditional.Length];
            patches.Guide(conditional, unconditional, scale, Floats(evaluation, "model_input"), batch, channels, channels, plane, evaluation.GetProperty("sigma").GetSingle(), result,
                width: shape[3]);

            for (var i = 0; i < result.Length; i++)
            {
                Assert.True(Math.Abs(result[i] - expected[i]) <= 1e-4 * (1 + Math.Abs(expected[i])),
                    $"{name}, sigma {evaluation.GetProperty("sigma").GetDouble()}, value {i}: {result[i]}, torch {expected[i]}");
                var plain = unconditional.Length == 0 ? conditional[i] : unconditional[i] + (scale * (conditional[i] - unconditional[i]));
                moved = Math.Max(moved, Math.Abs(expected[i] - plain));
            }
        }

        // Except TCFG at scale 1 (skipped there), the patches must move the prediction well beyond the tolerance.
        if (name != "tcfg_scale_one") Assert.True(moved > 0.05, $"{name}: the patches move the prediction by at most {moved}");
    }

    [Fact]
    public void TCFG_leaves_an_unconditional_score_parallel_to_the_conditional_one_as_it_is()
    {
        // x − u = 2·(x − c): the scores span one direction, and u's projection onto it is u's own score.
        var patches = new GuidancePatches(new ModelPrediction(PredictionKind.Epsilon, 1), 0, null, false, null) { TangentialDamping = true };
        float[] conditional = [0.5f, -1, 2, 0.25f], unconditional = [1, -2, 4, 0.5f], result = new float[4];
        patches.Guide(conditional, unconditional, 3, new float[4], 1, 4, 4, 1, 1, result);
        for (var i = 0; i < 4; i++) Assert.Equal(unconditional[i] + (3 * (conditional[i] - unconditional[i])), result[i], 5);
    }

    [Fact]
    public void A_CFG_latent_operation_needs_the_width_and_a_sharpen_radius_the_latent_can_hold()
    {
        var sharpen = new GuidancePatches(new ModelPrediction(PredictionKind.Epsilon, 1), 0, null, false, null) { LatentOperation = new LatentSharpen(2, 1, 0.5) };
        var values = new float[4 * 4];
        Assert.Contains("width", Assert.Throws<ArgumentException>(() => sharpen.Guide(values, values, 2, values, 1, 4, 4, 4, 1, new float[16])).Message);
        Assert.Contains("sharpen_radius 2", Assert.Throws<ArgumentException>(() => sharpen.Guide(values, values, 2, values, 1, 4, 4, 4, 1, new float[16], width: 2)).Message);
    }

    private static GuidancePatches Patches(JsonElement c)
    {
        var prediction = new ModelPrediction(c.GetProperty("prediction").GetString() == "v_prediction" ? PredictionKind.V : PredictionKind.Epsilon, 1);
        var apg = c.GetProperty("apg") is { ValueKind: JsonValueKind.Object } a
            ? new ProjectedGuidance(a.GetProperty("eta").GetDouble(), a.GetProperty("norm_threshold").GetDouble(), a.GetProperty("momentum").GetDouble())
            : null;
        double? norm = c.GetProperty("cfg_norm").ValueKind == JsonValueKind.Null ? null : c.GetProperty("cfg_norm").GetDouble();
        double? epsilon = c.GetProperty("epsilon_scaling").ValueKind == JsonValueKind.Null ? null : c.GetProperty("epsilon_scaling").GetDouble();
        return new GuidancePatches(prediction, c.GetProperty("rescale").GetSingle(), apg, c.GetProperty("zero_star").GetBoolean(), norm)
        {
            TangentialDamping = c.GetProperty("tcfg").GetBoolean(), LatentOperation = Operation(c.GetProperty("latent_operation")), Mahiro = c.GetProperty("mahiro").GetBoolean(),
            EpsilonScalingFactor = epsilon,
        };
    }

    internal static LatentOperation? Operation(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null
        : e.GetProperty("operation").GetString() == "tonemap_reinhard" ? new ReinhardTonemap(e.GetProperty("multiplier").GetDouble())
        : new LatentSharpen(e.GetProperty("sharpen_radius").GetInt32(), e.GetProperty("sigma").GetDouble(), e.GetProperty("alpha").GetDouble());

    private static float[] Floats(JsonElement e, string name) => [.. e.GetProperty(name).EnumerateArray().Select(v => (float)v.GetDouble())];
}
