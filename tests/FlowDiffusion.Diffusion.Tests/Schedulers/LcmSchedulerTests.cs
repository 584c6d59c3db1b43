using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

/// <summary>
/// LCM's multistep sampler against its published formulas (Luo et al. 2023; diffusers LCMScheduler defaults), evaluated
/// independently in torch (float32 alpha_bar as diffusers computes it, float64 arithmetic) and tabled here.
/// </summary>
public sealed class LcmSchedulerTests
{
    private static SchedulerConfig Sd15 => SchedulerConfig.FromJson(Sd15ScheduleTests.SdConfigJson);

    [Theory]
    [InlineData(1, new float[] { 999 })]
    [InlineData(2, new float[] { 999, 499 })]
    [InlineData(3, new float[] { 999, 679, 339 })]
    [InlineData(4, new float[] { 999, 759, 499, 259 })]
    [InlineData(8, new float[] { 999, 879, 759, 639, 499, 379, 259, 139 })]
    public void Timesteps_are_read_from_the_50_step_distillation_schedule(int steps, float[] expected)
    {
        var lcm = new LcmScheduler(Sd15);
        lcm.SetTimesteps(steps);
        Assert.Equal(expected, lcm.Timesteps);
    }

    [Fact]
    public void Each_step_renoises_the_consistency_estimate_to_the_next_timestep_and_the_last_returns_it()
    {
        // x, ε and z fixed; each row is one step of the 4-step schedule applied to the same x: (t, c_skip, c_out, result).
        float[] x = [0.5f, -1.25f, 2.0f, 0.0f];
        float[] epsilon = [0.1f, 0.3f, -0.7f, 1.5f];
        float[] z = [1.0f, -0.5f, 0.25f, 2.0f];
        (float T, double Skip, double Out, double[] Expected)[] rows =
        [
            (999, 2.5050075037374525e-09, 0.9999999987474963, [2.3132345954806874, -5.6727061790749485, 9.275563658167123, -3.062113347898155]),
            (759, 4.339667493201184e-09, 0.9999999978301662, [1.7784350952924934, -3.981077563004062, 6.396195108727532, -1.6678096909994558]),
            (499, 1.004012021999791e-08, 0.99999999497994, [1.223309046637055, -2.610439974252259, 4.143564214306676, -0.796000383686277]),
            (259, 3.726837564778493e-08, 0.999999981365812, [0.543997811604675, -1.755653562218906, 2.9673093128331374, -1.0790700905651422]),
        ];
        var lcm = new LcmScheduler(Sd15);
        lcm.SetTimesteps(4);
        var noise = new FixedNoise(z);
        foreach (var (t, skip, output, expected) in rows)
        {
            var (cSkip, cOut) = lcm.BoundaryScalings(t);
            Assert.Equal(skip, cSkip, skip * 1e-6); // float32 arithmetic: relative
            Assert.Equal(output, cOut, 1e-7);
            var result = new float[x.Length];
            lcm.Step(epsilon, t, x, result, noise);
            for (var i = 0; i < x.Length; i++) Assert.Equal(expected[i], result[i], 2e-5);
        }

        Assert.Equal(3, noise.Draws); // fresh noise between steps, none after the last
    }

    [Fact]
    public void Renoising_without_a_noise_source_and_more_steps_than_distilled_are_refused()
    {
        var lcm = new LcmScheduler(Sd15);
        Assert.Throws<ArgumentOutOfRangeException>(() => lcm.SetTimesteps(51));
        lcm.SetTimesteps(2);
        var x = new float[4];
        Assert.Throws<ArgumentNullException>(() => lcm.Step(x, 999, x, x, null));
    }

    [Fact]
    public void Configured_distillation_steps_and_timestep_scaling_are_used()
    {
        var lcm = new LcmScheduler(Sd15 with { OriginalInferenceSteps = 100, TimestepScaling = 1.0 });
        lcm.SetTimesteps(4);
        Assert.Equal([999f, 749f, 499f, 249f], lcm.Timesteps); // k = 10: 10·(100 − ⌊25·s⌋) − 1
        var (skip, output) = lcm.BoundaryScalings(249);
        Assert.Equal(0.25 / (249.0 * 249.0 + 0.25), skip, 1e-12);
        Assert.Equal(249.0 / Math.Sqrt(249.0 * 249.0 + 0.25), output, 1e-7);
    }

    private sealed class FixedNoise(float[] values) : INoiseSource
    {
        public int Draws { get; private set; }

        public void FillStandardNormal(Span<float> destination)
        {
            Draws++;
            values.CopyTo(destination);
        }
    }
}
