using FlowDiffusion.Diffusion.Schedulers;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

/// <summary>The 10-step schedules of the diffusers test configurations (oracles/schedulers/README.md section 5).</summary>
public sealed class TestConfigScheduleTests
{
    private const string Linear1100 = """{"num_train_timesteps": 1100, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear"}""";
    private const string Linear1000 = """{"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear", "final_sigmas_type": "sigma_min"}""";

    public static TheoryData<string, string, bool, float[], float[]?> Schedules => new()
    {
        { "ddim", """{"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear", "clip_sample": true}""", false,
            [900, 800, 700, 600, 500, 400, 300, 200, 100, 0], null },
        { "euler", Linear1100, false,
            [1099, 976.888916f, 854.777771f, 732.666687f, 610.555542f, 488.444458f, 366.333344f, 244.222229f, 122.111115f, 0],
            [261.055573f, 81.4056778f, 29.1121178f, 11.9125652f, 5.53581953f, 2.86487532f, 1.58681774f, 0.874082506f, 0.400163233f, 0.0100013297f, 0] },
        { "euler", Linear1100, true,
            [1099, 1035.54004f, 961.053162f, 871.100098f, 757.834961f, 605.782898f, 387.296051f, 139.537933f, 23.5367184f, 0],
            [261.055573f, 140.048264f, 70.6954117f, 33.1392097f, 14.1679049f, 5.38518715f, 1.75221932f, 0.459769577f, 0.0878118873f, 0.0100013297f, 0] },
        { "heun", Linear1100, false,
            [1099, 976.888916f, 976.888916f, 854.777771f, 854.777771f, 732.666687f, 732.666687f, 610.555542f, 610.555542f, 488.444458f, 488.444458f, 366.333344f, 366.333344f, 244.222229f, 244.222229f, 122.111115f, 122.111115f, 0, 0],
            [261.055573f, 81.4056778f, 81.4056778f, 29.1121178f, 29.1121178f, 11.9125652f, 11.9125652f, 5.53581953f, 5.53581953f, 2.86487532f, 2.86487532f, 1.58681774f, 1.58681774f, 0.874082506f, 0.874082506f, 0.400163233f, 0.400163233f, 0.0100013297f, 0.0100013297f, 0] },
        { "kdpm2", Linear1100, false,
            [1099, 1039.74365f, 976.888916f, 917.856201f, 854.777771f, 795.983826f, 732.666687f, 674.009521f, 610.555542f, 551.642822f, 488.444458f, 428.422089f, 366.333344f, 303.724762f, 244.222229f, 175.960068f, 122.111115f, 15.5784292f, 0],
            [261.055573f, 81.4056778f, 81.4056778f, 29.1121178f, 29.1121178f, 11.9125652f, 11.9125652f, 5.53581953f, 5.53581953f, 2.86487532f, 2.86487532f, 1.58681774f, 1.58681774f, 0.874082506f, 0.874082506f, 0.400163233f, 0.400163233f, 0.0100013297f, 0.0100013297f, 0, 0, 0] },
        { "dpmpp_2m", Linear1000, false,
            [999, 899, 799, 699, 599, 500, 400, 300, 200, 100],
            [157.407257f, 60.2714119f, 25.5284824f, 11.9395199f, 6.13520956f, 3.44296694f, 2.04108715f, 1.2401613f, 0.723591208f, 0.342260122f, 0.0100013297f] },
        { "dpm_single", Linear1000, false, [999, 899, 799, 699, 599, 500, 400, 300, 200, 100], null },
        { "unipc", Linear1000, false, [999, 899, 799, 699, 599, 500, 400, 300, 200, 100], null },
        { "deis", Linear1000, false, [999, 899, 799, 699, 599, 500, 400, 300, 200, 100], null },
        { "dpmpp_2m", Linear1000, true,
            [999, 937, 864, 775, 663, 511, 301, 102, 18, 0],
            [157.407257f, 85.7107239f, 44.0476418f, 21.1056023f, 9.27473927f, 3.65263987f, 1.24636018f, 0.349706113f, 0.0739302859f, 0.0100013297f, 0.0100013297f] },
    };

    [Theory]
    [MemberData(nameof(Schedules))]
    public void Ten_step_schedule_matches_diffusers(string name, string configJson, bool karras, float[] timesteps, float[]? sigmas)
    {
        var scheduler = SchedulerCatalog.Create(name, SchedulerConfig.FromJson(configJson), karras);
        scheduler.SetTimesteps(10);
        AssertClose(timesteps, scheduler.Timesteps);
        if (sigmas is not null) AssertClose(sigmas, scheduler.Sigmas!);
    }

    [Theory]
    [InlineData("lms")]
    [InlineData("euler")]
    [InlineData("heun")]
    [InlineData("kdpm2")]
    public void Init_noise_sigma_of_the_1100_step_config_is_the_largest_sigma(string name)
    {
        var scheduler = SchedulerCatalog.Create(name, SchedulerConfig.FromJson(Linear1100));
        scheduler.SetTimesteps(10);
        Assert.Equal(261.055573f, scheduler.InitNoiseSigma, 261.055573f * 1e-6f);
    }

    private static void AssertClose(float[] expected, IReadOnlyList<float> actual)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 * Math.Abs(expected[i]) + 1e-6,
                $"[{i}]: {actual[i]:R}, expected {expected[i]:R}");
        }
    }
}
