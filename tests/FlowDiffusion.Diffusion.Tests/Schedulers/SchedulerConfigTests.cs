using FlowDiffusion.Diffusion.Schedulers;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

public sealed class SchedulerConfigTests
{
    [Fact]
    public void Json_keys_map_to_fields_and_absent_keys_stay_null()
    {
        var config = SchedulerConfig.FromJson("""
            {"_class_name": "DPMSolverMultistepScheduler", "num_train_timesteps": 1000, "beta_schedule": "scaled_linear",
             "lambda_min_clipped": "-Infinity", "use_karras_sigmas": true, "some_future_key": [1, 2], "trained_betas": null}
            """);
        Assert.Equal("DPMSolverMultistepScheduler", config.ClassName);
        Assert.Equal(1000, config.NumTrainTimesteps);
        Assert.Equal("scaled_linear", config.BetaSchedule);
        Assert.Equal(double.NegativeInfinity, config.LambdaMinClipped);
        Assert.True(config.UseKarrasSigmas);
        Assert.Null(config.TimestepSpacing);
        Assert.Null(config.TrainedBetas);
        Assert.Null(config.PredictionType);
    }

    [Fact]
    public void Load_accepts_a_model_folder_and_reports_a_missing_file()
    {
        var model = Directory.CreateTempSubdirectory("fd-sched-");
        try
        {
            Directory.CreateDirectory(Path.Combine(model.FullName, "scheduler"));
            File.WriteAllText(Path.Combine(model.FullName, "scheduler", "scheduler_config.json"), Sd15ScheduleTests.SdConfigJson);
            var config = SchedulerConfig.Load(model.FullName);
            Assert.Equal(1, config.StepsOffset);
            Assert.Equal(0.00085, config.BetaStart);

            var error = Assert.Throws<FileNotFoundException>(() => SchedulerConfig.Load(Path.Combine(model.FullName, "nope")));
            Assert.Contains("nope", error.Message);
        }
        finally
        {
            model.Delete(recursive: true);
        }
    }

    [Fact]
    public void Alpha_bar_is_the_float32_prefix_product_of_a_double_accumulator()
    {
        var schedule = NoiseSchedule.For(SchedulerConfig.FromJson(Sd15ScheduleTests.SdConfigJson));
        var alphas = schedule.Alphas;
        double product = 1;
        for (var i = 0; i < alphas.Length; i++)
        {
            product *= alphas[i];
            Assert.Equal((float)product, schedule.AlphasCumprod[i]);
        }

        Assert.Equal(0.00085f, schedule.Betas[0], 1e-9f);
        Assert.Equal(0.012f, schedule.Betas[^1], 1e-8f);
    }

    [Theory]
    [InlineData("squaredcos_cap_v2", 0.999f)]
    [InlineData("linear", 0.02f)]
    public void Beta_schedules_end_where_diffusers_ends_them(string schedule, float lastBeta)
    {
        var config = new SchedulerConfig { BetaSchedule = schedule };
        Assert.Equal(lastBeta, NoiseSchedule.For(config).Betas[^1], 1e-6f);
    }

    [Fact]
    public void Unknown_values_are_errors_that_name_the_valid_ones()
    {
        Assert.Contains("scaled_linear", Assert.Throws<ArgumentException>(() => NoiseSchedule.For(new SchedulerConfig { BetaSchedule = "quadratic" })).Message);
        Assert.Contains("v_prediction", Assert.Throws<ArgumentException>(() => new EulerScheduler(new SchedulerConfig { PredictionType = "flow" })).Message);
        Assert.Contains("trailing", Assert.Throws<ArgumentException>(() => new DdimScheduler(new SchedulerConfig { TimestepSpacing = "even" })).Message);
    }

    [Fact]
    public void Dpm_singlestep_switches_on_lower_order_final_as_diffusers_does()
    {
        var scheduler = new DpmSolverSinglestepScheduler(new SchedulerConfig());
        Assert.False(scheduler.LowerOrderFinal);
        scheduler.SetTimesteps(10);
        Assert.True(scheduler.LowerOrderFinal);
        Assert.Equal([1, 2, 1, 2, 1, 2, 1, 2, 1, 1], scheduler.OrderList);

        var sigmaMin = new DpmSolverSinglestepScheduler(new SchedulerConfig { FinalSigmasType = "sigma_min" });
        sigmaMin.SetTimesteps(10);
        Assert.Equal([1, 2, 1, 2, 1, 2, 1, 2, 1, 2], sigmaMin.OrderList);
    }

    [Fact]
    public void Zero_terminal_snr_rescale_keeps_the_first_alpha_bar_and_ends_at_zero()
    {
        var plain = new SchedulerConfig { BetaSchedule = "scaled_linear", BetaStart = 0.00085, BetaEnd = 0.012 };
        var rescaled = plain with { RescaleBetasZeroSnr = true };
        var before = NoiseSchedule.For(plain).AlphasCumprod;
        var exact = new DdimScheduler(rescaled).NoiseSchedule.AlphasCumprod;
        var clamped = new EulerScheduler(rescaled).NoiseSchedule.AlphasCumprod;

        Assert.Equal(before[0], exact[0], 1e-6f);
        Assert.Equal(0f, exact[^1], 1e-12f);
        Assert.Equal(MathF.Pow(2, -24), clamped[^1]);
        Assert.True(exact[500] < before[500]); // the whole curve moves towards zero SNR

        var error = Assert.Throws<ArgumentException>(() => new LmsScheduler(rescaled));
        Assert.Contains("rescale_betas_zero_snr", error.Message);
    }

    [Fact]
    public void Dpm_singlestep_ignores_a_model_files_spacing_but_rejects_an_explicit_override()
    {
        var config = SchedulerConfig.FromJson("""{"timestep_spacing": "leading", "final_sigmas_type": "sigma_min"}""");
        var scheduler = SchedulerCatalog.Create("dpm_single", config);
        scheduler.SetTimesteps(10);
        Assert.Equal([999f, 899, 799, 699, 599, 500, 400, 300, 200, 100], scheduler.Timesteps);
        Assert.Throws<ArgumentException>(() => SchedulerCatalog.Create("dpm_single", config, spacing: "trailing"));
    }
}
