using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.Schedulers;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

/// <summary>The equivalence protocols of README section 4 on the test configurations: an explicit schedule equal to the spaced one gives the same run.</summary>
public sealed class CustomScheduleTests
{
    public static TheoryData<string, string, string> Equivalences => new()
    {
        { "EulerDiscreteScheduler", """{"num_train_timesteps": 1100, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear"}""", "equivalence_custom_timesteps" },
        { "EulerDiscreteScheduler", """{"num_train_timesteps": 1100, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear", "use_karras_sigmas": true}""", "equivalence_custom_sigmas" },
        { "HeunDiscreteScheduler", """{"num_train_timesteps": 1100, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear"}""", "equivalence_custom_timesteps_heun" },
        { "DPMSolverMultistepScheduler", """{"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear", "final_sigmas_type": "sigma_min"}""", "equivalence_custom_timesteps" },
    };

    [Theory]
    [MemberData(nameof(Equivalences))]
    public void Explicit_schedule_equal_to_the_spaced_one_gives_the_same_run(string scheduler, string config, string protocol)
    {
        var entry = new JsonObject
        {
            ["id"] = "synthetic",
            ["scheduler"] = scheduler,
            ["config"] = JsonNode.Parse(config),
            ["protocol"] = protocol,
            ["tolerance"] = new JsonObject { ["sum_abs_diff"] = 1e-5 },
        };
        var plain = SchedulerOracle.RunBaseLoop(entry, s => s.SetTimesteps(10));
        Assert.Contains(plain, v => v != 0);

        var template = SchedulerOracle.Create(scheduler, entry["config"]!);
        template.SetTimesteps(10);
        var custom = SchedulerOracle.RunBaseLoop(entry, s =>
        {
            if (s is EulerScheduler euler && protocol.EndsWith("sigmas", StringComparison.Ordinal)) euler.SetSigmas(template.Sigmas!);
            else if (s is EulerScheduler e) e.SetTimesteps(template.Timesteps);
            else if (s is HeunScheduler heun) heun.SetTimesteps(template.Timesteps.Where((_, i) => i == 0 || i % 2 == 1).ToArray());
            else ((DpmSolverMultistepScheduler)s).SetTimesteps(template.Timesteps.Select(t => (int)t).ToArray());
        });
        Assert.True(plain.Zip(custom, (a, b) => Math.Abs((double)a - b)).Sum() < 1e-5);
    }

    [Fact]
    public void Ddpm_custom_timesteps_step_to_the_next_list_entry_and_reject_bad_lists()
    {
        var ddpm = new DdpmScheduler(new SchedulerConfig());
        ddpm.SetTimesteps([100, 87, 50, 1, 0]);
        Assert.Equal([87, 50, 1, 0, -1], new[] { 100, 87, 50, 1, 0 }.Select(ddpm.PreviousTimestep));

        Assert.Throws<ArgumentException>(() => ddpm.SetTimesteps([100, 87, 50, 51, 0]));
        Assert.Throws<ArgumentException>(() => ddpm.SetTimesteps(5, [100, 87, 50, 1, 0]));
        Assert.Throws<ArgumentException>(() => ddpm.SetTimesteps([1000, 50, 0]));
    }

    [Fact]
    public void Ddpm_variance_without_a_schedule_uses_the_previous_training_step()
    {
        var ddpm = new DdpmScheduler(new SchedulerConfig());
        var alphaBars = ddpm.NoiseSchedule.AlphasCumprod;
        Assert.Equal(0f, ddpm.Variance(0), 1e-19f);
        var t = 487;
        var expected = (1 - alphaBars[t - 1]) / (1 - alphaBars[t]) * (1 - alphaBars[t] / alphaBars[t - 1]);
        Assert.Equal(expected, ddpm.Variance(t), 1e-7f);
        Assert.Equal(0.00979, ddpm.Variance(487), 1e-5); // diffusers' test_variance constant
        Assert.Equal(0.02, ddpm.Variance(999), 1e-5);
    }

    [Fact]
    public void Ddim_variance_matches_diffusers_test_constants()
    {
        var ddim = new DdimScheduler(new SchedulerConfig { BetaSchedule = "linear", BetaStart = 0.0001, BetaEnd = 0.02 });
        Assert.Equal(0.0, ddim.Variance(0, 0), 1e-5);
        Assert.Equal(0.14771, ddim.Variance(420, 400), 1e-5);
        Assert.Equal(0.32460, ddim.Variance(980, 960), 1e-5);
        Assert.Equal(0.02, ddim.Variance(999, 998), 1e-5);
    }
}
