using FlowDiffusion.Diffusion.Guidance;
using FlowDiffusion.Diffusion.KDiffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Guidance;

/// <summary>
/// PAG among <see cref="GuidancePatches"/>, in closed form on a v-prediction model (so c_skip and c_out are not 1): on x₀
/// estimates the result is CFG + pag·(c − p), then CFGNorm's per-pixel cap (itself checked against torch in
/// <see cref="GuidancePatchesTests"/>) on that sum, as ComfyUI runs its post-CFG functions in the order they were added
/// (PerturbedAttentionGuidance before CFGNorm). Tolerance 1e-5 on predictions of magnitude ~1.
/// </summary>
public sealed class PerturbedAttentionGuidanceTests
{
    private const int Batch = 2, Channels = 4, Plane = 3;
    private const float Sigma = 2.5f, Scale = 5f;

    [Theory]
    [InlineData(2.0, null)]
    [InlineData(3.0, 0.8)]
    public void The_perturbed_estimates_difference_is_added_to_the_CFG_result_before_CFGNorm(double pag, double? norm)
    {
        var prediction = new ModelPrediction(PredictionKind.V, 1);
        var (c, u, p, input) = (Values(1), Values(2), Values(3), Values(4));
        var result = new float[c.Length];
        new GuidancePatches(prediction, 0, null, false, norm, pag).Guide(c, u, Scale, input, Batch, Channels, Channels, Plane, Sigma, result, p);

        var (skip, output) = prediction.Scalings(Sigma);
        var inputScale = (double)prediction.InputScale(Sigma);
        double X0(float[] v, int k) => (skip * (input[k] / inputScale)) + (output * (double)v[k]);
        var guided = new double[c.Length];
        var conditional = new double[c.Length];
        for (var k = 0; k < c.Length; k++)
        {
            conditional[k] = X0(c, k);
            guided[k] = X0(u, k) + (Scale * (conditional[k] - X0(u, k))) + (pag * (conditional[k] - X0(p, k)));
        }

        if (norm is { } strength) CfgNorm.Apply(guided, conditional, strength, Batch, Channels, Plane);
        for (var k = 0; k < c.Length; k++)
        {
            var expected = (guided[k] - (skip * (input[k] / inputScale))) / output;
            Assert.True(Math.Abs(result[k] - expected) < 1e-5, $"value {k}: {result[k]}, expected {expected}");
        }

        var plain = new float[c.Length];
        new GuidancePatches(prediction, 0, null, false, norm).Guide(c, u, Scale, input, Batch, Channels, Channels, Plane, Sigma, plain);
        Assert.True(result.Zip(plain, (a, b) => Math.Abs(a - b)).Max() > 0.1, "PAG must move the result");
    }

    [Fact]
    public void Pag_needs_the_perturbed_prediction()
    {
        var patches = new GuidancePatches(new ModelPrediction(PredictionKind.Epsilon, 1), 0, null, false, null, 1);
        Assert.True(patches.Perturbs);
        Assert.Contains("perturbed", Assert.Throws<ArgumentException>(() => patches.Guide(Values(1), Values(2), 2, Values(4), Batch, Channels, Channels, Plane, 1, new float[Batch * Channels * Plane])).Message);
        Assert.False(new GuidancePatches(new ModelPrediction(PredictionKind.Epsilon, 1), 0, null, false, null).Perturbs);
    }

    // Deterministic values of magnitude ~1, different per seed.
    private static float[] Values(int seed) => [.. Enumerable.Range(0, Batch * Channels * Plane).Select(i => MathF.Sin((i + 1) * (seed + 0.37f)) * (1 + (0.1f * seed)))];
}
