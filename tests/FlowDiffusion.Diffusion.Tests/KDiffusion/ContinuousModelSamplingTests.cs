using System.Text.Json;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Schedulers;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.KDiffusion;

/// <summary>
/// ComfyUI's ModelSamplingContinuousEDM/V and its EPS, V_PREDICTION and EDM scalings against the numpy reference
/// (tools/comfy/sigma_reference.py, key "continuous"), to 1e-6 relative.
/// </summary>
public sealed class ContinuousModelSamplingTests
{
    private static JsonElement Continuous => ComfyReference.Data.GetProperty("continuous");

    public static TheoryData<int> CaseIndices() => [.. Enumerable.Range(0, Continuous.GetProperty("cases").GetArrayLength())];

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Sigma_table_is_1000_log_spaced_sigmas_between_sigma_min_and_sigma_max(int index)
    {
        var (reference, sampling) = Case(index);

        AssertClose(ComfyReference.Floats(reference.GetProperty("sigmas")), [.. sampling.Sigmas], $"case {index} table");
        Assert.Equal(sampling.Sigmas[0], sampling.SigmaMin);
        Assert.Equal(sampling.Sigmas[^1], sampling.SigmaMax);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Timestep_and_its_inverse_are_ComfyUIs_closed_forms(int index)
    {
        var (reference, sampling) = Case(index);

        foreach (var probe in reference.GetProperty("timesteps").EnumerateArray())
            AssertClose([(float)probe.GetProperty("timestep").GetDouble()], [sampling.TimestepOf((float)probe.GetProperty("sigma").GetDouble())], $"case {index} timestep");
        foreach (var probe in reference.GetProperty("sigma_of").EnumerateArray())
            AssertClose([(float)probe.GetProperty("sigma").GetDouble()], [sampling.Sigma((float)probe.GetProperty("timestep").GetDouble())], $"case {index} sigma");
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Schedules_read_the_continuous_range_and_table_as_ComfyUIs(int index)
    {
        var (reference, sampling) = Case(index);

        foreach (var schedule in reference.GetProperty("schedules").EnumerateArray())
        {
            var name = schedule.GetProperty("scheduler").GetString()!;
            var steps = schedule.GetProperty("steps").GetInt32();
            AssertClose(ComfyReference.Floats(schedule.GetProperty("sigmas")), SigmaSchedules.Compute(name, sampling, steps), $"case {index} {name} {steps} steps");
        }
    }

    [Fact]
    public void Input_and_output_scalings_are_ComfyUIs_eps_v_and_edm()
    {
        foreach (var c in Continuous.GetProperty("denoised").EnumerateArray())
        {
            var kind = c.GetProperty("prediction").GetString() switch { "eps" => PredictionKind.Epsilon, "v_prediction" => PredictionKind.V, _ => PredictionKind.Edm };
            var prediction = new ModelPrediction(kind, (float)c.GetProperty("sigma_data").GetDouble());
            var sigma = (float)c.GetProperty("sigma").GetDouble();
            var context = $"{kind} at sigma {sigma}";
            var (skip, output) = prediction.Scalings(sigma);

            AssertClose([(float)c.GetProperty("c_in").GetDouble()], [prediction.InputScale(sigma)], context + " c_in");
            AssertClose([(float)c.GetProperty("c_skip").GetDouble()], [skip], context + " c_skip");
            AssertClose([(float)c.GetProperty("c_out").GetDouble()], [output], context + " c_out");
            AssertClose(ComfyReference.Floats(c.GetProperty("denoised")),
                prediction.Denoise(ComfyReference.Floats(c.GetProperty("x")), ComfyReference.Floats(c.GetProperty("output")), sigma), context + " denoised", absolute: 1e-6);
        }
    }

    [Fact]
    public void The_scheduler_configuration_selects_the_sampling_and_prediction()
    {
        var config = new SchedulerConfig { ModelSampling = "continuous_v", SigmaMin = 0.03, SigmaMax = 500, PredictionType = "edm", SigmaData = 0.5 };

        var sampling = Assert.IsType<ContinuousModelSampling>(IModelSampling.For(config));
        Assert.True(sampling.IsV);
        Assert.Equal(new ModelPrediction(PredictionKind.Edm, 0.5f), ModelPrediction.For(config, "test"));
        Assert.IsType<DiscreteModelSampling>(IModelSampling.For(config with { ModelSampling = null }));
        Assert.Contains("sigma_min and sigma_max", Assert.Throws<ArgumentException>(() => IModelSampling.For(config with { SigmaMax = null })).Message);
        Assert.Contains("0 < sigma_min < sigma_max", Assert.Throws<ArgumentException>(() => IModelSampling.For(config with { SigmaMin = 0 })).Message);
        Assert.Contains("0 < sigma_min < sigma_max", Assert.Throws<ArgumentException>(() => IModelSampling.For(config with { SigmaMin = 600 })).Message);
        Assert.Contains("continuous_edm", Assert.Throws<ArgumentException>(() => IModelSampling.For(config with { ModelSampling = "flow" })).Message);
        Assert.Contains("sd_turbo", Assert.Throws<ArgumentException>(() => SigmaSchedules.Compute(SigmaSchedules.SdTurbo, sampling, 4)).Message);
    }

    private static (JsonElement Reference, ContinuousModelSampling Sampling) Case(int index)
    {
        var reference = Continuous.GetProperty("cases")[index];
        double min = reference.GetProperty("sigma_min").GetDouble(), max = reference.GetProperty("sigma_max").GetDouble();
        return (reference, reference.GetProperty("sampling").GetString() == "v" ? ContinuousModelSampling.V(min, max) : ContinuousModelSampling.Edm(min, max));
    }

    private static void AssertClose(float[] want, float[] got, string context, double absolute = 0)
    {
        Assert.Equal(want.Length, got.Length);
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs((double)want[i] - got[i]) <= 1e-6 * Math.Abs(want[i]) + absolute, $"{context}: [{i}] {got[i]:R} vs {want[i]:R}");
    }

    [Theory]
    [InlineData("edm", 0.002, 120.0)]
    [InlineData("v", 0.03, 500.0)]
    public void Percent_to_sigma_is_log_linear_between_the_tables_ends(string kind, double sigmaMin, double sigmaMax)
    {
        // ComfyUI's continuous percent_to_sigma (what places sa_solver's SDE window): p = 0.5 is the geometric mean of the
        // table's ends, p = 0.25 three quarters of the way up in log sigma, and the ends are past any sigma and 0.
        var sampling = kind == "edm" ? ContinuousModelSampling.Edm(sigmaMin, sigmaMax) : ContinuousModelSampling.V(sigmaMin, sigmaMax);
        double low = sampling.SigmaMin, high = sampling.SigmaMax;
        Assert.Equal(Math.Sqrt(low * high), sampling.PercentToSigma(0.5), 1e-9 * high);
        Assert.Equal(Math.Pow(low, 0.25) * Math.Pow(high, 0.75), sampling.PercentToSigma(0.25), 1e-9 * high);
        Assert.Equal(999999999.9, sampling.PercentToSigma(0));
        Assert.Equal(0, sampling.PercentToSigma(1));
    }
}
