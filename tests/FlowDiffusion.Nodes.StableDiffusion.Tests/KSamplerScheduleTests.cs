using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Schedulers;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// ComfyUI's KSampler computes dpm_2's schedule for one step more and drops the sigma before the last. On analytic-sd
/// (x0 the prompt's colour whatever the input) dpm_2 and Euler both move x − x0 by σ_next/σ in a step, so dpm_2's first
/// step at 3 steps lands where Euler's does at 4, not at 3.
/// </summary>
public sealed class KSamplerScheduleTests
{
    [Fact]
    public async Task Dpm_2s_first_step_follows_the_schedule_of_one_step_more()
    {
        var dpm2 = await FirstStepAsync("dpm_2", 3);
        var euler4 = await FirstStepAsync("euler", 4);
        var euler3 = await FirstStepAsync("euler", 3);

        // dpm_2 evaluates at its midpoint sigma too, at the nearest whole timestep there, so it is close, not exact.
        Assert.True(MaxDifference(dpm2, euler4) < 0.01, $"dpm_2 at 3 steps against euler at 4: {MaxDifference(dpm2, euler4)}");
        Assert.True(MaxDifference(dpm2, euler3) > 1, $"dpm_2 at 3 steps against euler at 3: {MaxDifference(dpm2, euler3)}");
    }

    [Fact]
    public async Task Without_the_rule_dpm_2_runs_the_schedule_as_computed()
    {
        // drop_penultimate_sigma: false is BasicScheduler's schedule, which SamplerCustom hands dpm_2 unchanged.
        var dpm2 = await FirstStepAsync("dpm_2", 3, dropPenultimate: false);
        var euler3 = await FirstStepAsync("euler", 3);

        Assert.True(MaxDifference(dpm2, euler3) < 0.01, $"dpm_2 at 3 steps as computed against euler at 3: {MaxDifference(dpm2, euler3)}");
    }

    [Fact]
    public async Task Sigma_edits_change_the_schedule_after_the_window_as_the_explicit_sigmas_they_make()
    {
        // end_step 1 cuts normal's 3-step schedule to [σ0, σ1] first; 'first 20' then starts that step at 20 (above σ_max,
        // so the noise is scaled by √(1 + 20²) as ComfyUI's), which explicit sigmas '20, σ1' give as well.
        var sd15 = DiscreteModelSampling.For(new SchedulerConfig { BetaStart = 0.00085, BetaEnd = 0.012, BetaSchedule = "scaled_linear", NumTrainTimesteps = 1000 });
        var normal = SigmaSchedules.Compute("normal", sd15, 3);
        var edited = await AnalyticFirstStep.LatentsAsync("euler", "scheduler: normal, steps: 3, sigma_edits: 'first 20'", 3, "a blue sky");
        var written = await AnalyticFirstStep.LatentsAsync("euler", $"sigmas: '20, {normal[1].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}'", 3, "a blue sky");
        var plain = await FirstStepAsync("euler", 3);

        Assert.Equal(written, edited);
        // On analytic-sd a first step moves x − x0 by σ1/σ0 of noise · √(1 + σ0²): the start changes it by about 0.1 %.
        Assert.True(MaxDifference(plain, edited) > 0.05, $"first sigma 20 against the schedule's own: {MaxDifference(plain, edited)}");
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    private static Task<float[]> FirstStepAsync(string sampler, int steps, bool dropPenultimate = true) => AnalyticFirstStep.LatentsAsync(sampler,
        $"scheduler: normal, steps: {steps}, drop_penultimate_sigma: {(dropPenultimate ? "true" : "false")}", 3, "a blue sky");
}
