using FlowDiffusion.Diffusion.Schedulers;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

public sealed class Sd15ScheduleTests
{
    // sd15_schedules.json is the shared oracle's; sd15_karras_schedules.json is written by karras_schedules.py beside it
    // (the published Karras formulas in torch/numpy, independent of this port).
    public static IEnumerable<object[]> Schedules =>
        SchedulerOracle.Cases("sd15_schedules.json").Select(c => new[] { "sd15_schedules.json", c[0] })
            .Concat(SchedulerOracle.Cases("sd15_karras_schedules.json").Select(c => new[] { "sd15_karras_schedules.json", c[0] }));

    [Theory]
    [MemberData(nameof(Schedules))]
    public void Sd15_schedule_matches_diffusers(string file, string id)
    {
        var entry = SchedulerOracle.Case(file, id);
        var scheduler = SchedulerOracle.Create((string)entry["scheduler"]!, entry["config"]!);
        scheduler.SetTimesteps((int)entry["steps"]!);

        var timesteps = entry["timesteps"]!.AsArray().Select(v => (double)v!).ToArray();
        AssertClose(timesteps, scheduler.Timesteps, id + " timesteps");
        if (entry["sigmas"] is { } sigmas)
        {
            AssertClose(sigmas.AsArray().Select(v => (double)v!).ToArray(), scheduler.Sigmas!, id + " sigmas");
        }

        var init = (double)entry["init_noise_sigma"]!;
        Assert.InRange(scheduler.InitNoiseSigma, init * (1 - 1e-5), init * (1 + 1e-5));
        if (entry["prk_timesteps"] is { } prk)
        {
            var pndm = (PndmScheduler)scheduler;
            AssertClose(prk.AsArray().Select(v => (double)v!).ToArray(), pndm.PrkTimesteps, id + " prk");
            AssertClose(entry["plms_timesteps"]!.AsArray().Select(v => (double)v!).ToArray(), pndm.PlmsTimesteps, id + " plms");
        }
    }

    [Fact]
    public void Sd15_training_sigma_range_is_the_float32_one()
    {
        var config = SchedulerConfig.FromJson(SdConfigJson);
        var sigmas = NoiseSchedule.For(config).Sigmas;
        Assert.Equal(14.614645f, sigmas[^1], 5e-6f);
        Assert.Equal(0.0291675329f, sigmas[0], 1e-9f);
    }

    [Theory]
    [InlineData("euler", "leading", 20, 11.0283346f, 11.0735798f)]
    [InlineData("euler", "linspace", 30, 14.614645f, 14.614645f)]
    public void Init_noise_sigma_follows_the_spacing(string name, string spacing, int steps, float firstSigma, float initNoiseSigma)
    {
        var scheduler = SchedulerCatalog.Create(name, SchedulerConfig.FromJson(SdConfigJson), spacing: spacing);
        scheduler.SetTimesteps(steps);
        Assert.Equal(firstSigma, scheduler.Sigmas![0], firstSigma * 1e-5f);
        Assert.Equal(initNoiseSigma, scheduler.InitNoiseSigma, initNoiseSigma * 1e-5f);
    }

    internal const string SdConfigJson = """
        {
          "_class_name": "PNDMScheduler",
          "_diffusers_version": "0.6.0",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "num_train_timesteps": 1000,
          "set_alpha_to_one": false,
          "skip_prk_steps": true,
          "steps_offset": 1,
          "trained_betas": null,
          "clip_sample": false
        }
        """;

    private static void AssertClose(double[] expected, IReadOnlyList<float> actual, string what)
    {
        Assert.True(expected.Length == actual.Count, $"{what}: {actual.Count} entries, expected {expected.Length}");
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs(actual[i] - expected[i]);
            Assert.True(error <= 1e-5 * Math.Abs(expected[i]) + 1e-7, $"{what}[{i}]: {actual[i]:R}, expected {expected[i]:R}");
        }
    }
}
