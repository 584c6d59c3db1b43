using System.Text.Json;
using FlowDiffusion.Diffusion.Guidance;
using FlowDiffusion.Diffusion.KDiffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Guidance;

/// <summary>
/// <see cref="GuidancePatches"/> (APG, RescaleCFG, CFGZeroStar, CFGNorm) against torch (tools/comfy/guidance_patches_reference.py),
/// which runs ComfyUI's sampling function on x₀ estimates over a toy model's evaluations: ε- and v-models, batch 2 (each item
/// its own norm, projection and α), APG's running average over several evaluations and its restart where sigma rises, scale 1
/// with no unconditional half (ComfyUI's zero estimate), and the patches together.
/// </summary>
public sealed class GuidancePatchesTests
{
    private static readonly JsonElement Cases =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "comfy", "guidance_patches.json"))).RootElement.GetProperty("guidance_patches");

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
            patches.Guide(conditional, unconditional, scale, Floats(evaluation, "model_input"), batch, channels, channels, plane, evaluation.GetProperty("sigma").GetSingle(), result);

            for (var i = 0; i < result.Length; i++)
            {
                Assert.True(Math.Abs(result[i] - expected[i]) <= 1e-4 * (1 + Math.Abs(expected[i])),
                    $"{name}, sigma {evaluation.GetProperty("sigma").GetDouble()}, value {i}: {result[i]}, torch {expected[i]}");
                var plain = unconditional.Length == 0 ? conditional[i] : unconditional[i] + (scale * (conditional[i] - unconditional[i]));
                moved = Math.Max(moved, Math.Abs(expected[i] - plain));
            }
        }

        // Except CFGZeroStar at scale 1 (a no-op there), the patches must move the prediction well beyond the tolerance.
        if (name != "zero_star_scale_one") Assert.True(moved > 0.05, $"{name}: the patches move the prediction by at most {moved}");
    }

    [Fact]
    public void APG_at_scale_zero_is_an_error_rather_than_comfyuis_nan()
    {
        var patches = new GuidancePatches(new ModelPrediction(PredictionKind.Epsilon, 1), 0, new ProjectedGuidance(1, 0, 0), false, null);
        var error = Assert.Throws<ArgumentException>(() => patches.Guide([1, 2, 3, 4], [0, 1, 2, 3], 0, new float[4], 1, 4, 4, 1, 1, new float[4]));
        Assert.Contains("scale above 0", error.Message);
    }

    private static GuidancePatches Patches(JsonElement c)
    {
        var prediction = new ModelPrediction(c.GetProperty("prediction").GetString() == "v_prediction" ? PredictionKind.V : PredictionKind.Epsilon, 1);
        var apg = c.GetProperty("apg") is { ValueKind: JsonValueKind.Object } a
            ? new ProjectedGuidance(a.GetProperty("eta").GetDouble(), a.GetProperty("norm_threshold").GetDouble(), a.GetProperty("momentum").GetDouble())
            : null;
        double? norm = c.GetProperty("cfg_norm").ValueKind == JsonValueKind.Null ? null : c.GetProperty("cfg_norm").GetDouble();
        return new GuidancePatches(prediction, c.GetProperty("rescale").GetSingle(), apg, c.GetProperty("zero_star").GetBoolean(), norm);
    }

    private static float[] Floats(JsonElement e, string name) => [.. e.GetProperty(name).EnumerateArray().Select(v => (float)v.GetDouble())];
}
