using FlowDiffusion.Diffusion.KDiffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.KDiffusion;

public sealed class SigmaScheduleTests
{
    public static TheoryData<string, int, double> Cases() => Table("schedules", "scheduler");

    public static TheoryData<string, int, double> DiscardCases() => Table("discard_penultimate", "scheduler");

    public static TheoryData<string, int, double> AysCases() => Table("align_your_steps", "model_type");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Schedule_matches_ComfyUI_definition_to_1e_6(string scheduler, int steps, double denoise) =>
        AssertClose(Reference("schedules", "scheduler", scheduler, steps, denoise), SigmaSchedules.WithDenoise(scheduler, ComfyReference.Sd15, steps, denoise),
            $"{scheduler} {steps} steps denoise {denoise}");

    [Theory]
    [MemberData(nameof(DiscardCases))]
    public void KSamplers_schedule_for_dpm_2_and_uni_pc_drops_the_penultimate_sigma_of_one_step_more(string scheduler, int steps, double denoise)
    {
        var got = SigmaSchedules.WithDenoise(scheduler, ComfyReference.Sd15, steps, denoise, discardPenultimate: true);

        AssertClose(Reference("discard_penultimate", "scheduler", scheduler, steps, denoise), got, $"{scheduler} {steps} steps denoise {denoise}");
        // One step is [sigma_max, 0] either way; more steps differ from the plain schedule.
        if (steps > 1) Assert.NotEqual(SigmaSchedules.WithDenoise(scheduler, ComfyReference.Sd15, steps, denoise), got);
        Assert.Equal(["dpm_2", "dpm_2_ancestral", "uni_pc", "uni_pc_bh2"], KSamplers.Names.Where(KSamplers.DiscardsPenultimateSigma));
    }

    [Theory]
    [MemberData(nameof(AysCases))]
    public void Align_your_steps_matches_ComfyUIs_interpolation_of_the_published_levels(string modelType, int steps, double denoise) =>
        AssertClose(Reference("align_your_steps", "model_type", modelType, steps, denoise), AlignYourSteps.Sigmas(modelType, steps, denoise),
            $"{modelType} {steps} steps denoise {denoise}");

    [Fact]
    public void A_tiny_denoise_over_many_steps_is_refused_before_the_schedule_is_computed()
    {
        // 10,000 steps at denoise 1e-9 would be a schedule of 10¹³ steps.
        var error = Assert.Throws<ArgumentException>(() => SigmaSchedules.WithDenoise("karras", ComfyReference.Sd15, 10000, 1e-9));
        Assert.Contains("10000000000000 steps", error.Message);
        Assert.Equal(101, SigmaSchedules.WithDenoise("karras", ComfyReference.Sd15, 100, 0.0001).Length);
    }

    [Fact]
    public void Model_sigma_range_and_nearest_timesteps_match_ComfyUI()
    {
        var data = ComfyReference.Data;
        Assert.Equal(data.GetProperty("sigma_min").GetDouble(), ComfyReference.Sd15.SigmaMin, 7);
        Assert.Equal(data.GetProperty("sigma_max").GetDouble(), ComfyReference.Sd15.SigmaMax, 5);
        foreach (var c in data.GetProperty("timesteps").EnumerateArray())
            Assert.Equal(c.GetProperty("timestep").GetInt32(), ComfyReference.Sd15.Timestep((float)c.GetProperty("sigma").GetDouble()));
    }

    [Fact]
    public void Zero_terminal_snr_rescales_the_sigmas_and_schedules_as_ComfyUIs_zsnr()
    {
        var zsnr = DiscreteModelSampling.For(new FlowDiffusion.Diffusion.Schedulers.SchedulerConfig
        {
            BetaStart = 0.00085, BetaEnd = 0.012, BetaSchedule = "scaled_linear", NumTrainTimesteps = 1000, RescaleBetasZeroSnr = true,
        });
        var data = ComfyReference.Data.GetProperty("zero_snr");
        foreach (var p in data.GetProperty("sigmas").EnumerateObject())
        {
            var want = p.Value.GetDouble();
            var got = zsnr.Sigmas[int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture)];
            Assert.True(Math.Abs(want - got) <= 2e-6 * Math.Max(1, want), $"sigma[{p.Name}] {got:R} vs {want:R}");
        }

        // The rescale keeps the first sigma (to float32 rounding) and moves the largest from 14.61 to about 4518.8.
        Assert.Equal(ComfyReference.Sd15.SigmaMin, zsnr.SigmaMin, 5);
        Assert.True(zsnr.SigmaMax > 4500 && ComfyReference.Sd15.SigmaMax < 15, $"{zsnr.SigmaMax}");
        foreach (var c in data.GetProperty("timesteps").EnumerateArray())
            Assert.Equal(c.GetProperty("timestep").GetInt32(), zsnr.Timestep((float)c.GetProperty("sigma").GetDouble()));
        foreach (var c in data.GetProperty("schedules").EnumerateArray())
        {
            var (name, steps) = (c.GetProperty("scheduler").GetString()!, c.GetProperty("steps").GetInt32());
            AssertClose(ComfyReference.Floats(c.GetProperty("sigmas")), SigmaSchedules.Compute(name, zsnr, steps), $"zsnr {name} {steps}");
        }
    }

    [Fact]
    public void Advanced_window_cuts_start_and_end_and_forces_zero_only_when_asked()
    {
        var sigmas = SigmaSchedules.Compute("karras", ComfyReference.Sd15, 10);
        var head = SigmaSchedules.Window((float[])sigmas.Clone(), 0, 4, forceFullDenoise: false);
        Assert.Equal(sigmas[..5], head);
        var forced = SigmaSchedules.Window((float[])sigmas.Clone(), 0, 4, forceFullDenoise: true);
        Assert.Equal(0f, forced[^1]);
        var tail = SigmaSchedules.Window((float[])sigmas.Clone(), 4, 10000, forceFullDenoise: true);
        Assert.Equal(sigmas[4..], tail);
        Assert.Empty(SigmaSchedules.Window((float[])sigmas.Clone(), 10, 10000, forceFullDenoise: true));
    }

    [Fact]
    public void Unknown_schedule_is_an_error_naming_it_and_the_valid_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => SigmaSchedules.Compute("bogus", ComfyReference.Sd15, 10));
        Assert.Contains("unknown scheduler 'bogus'", error.Message);
        Assert.Contains("GITS[coeff=1.2]", error.Message);
    }

    [Fact]
    public void Sd_turbo_takes_the_models_sigmas_at_its_ten_timesteps_from_denoise_on()
    {
        foreach (var c in ComfyReference.Data.GetProperty("sd_turbo").EnumerateArray())
        {
            var (steps, denoise) = (c.GetProperty("steps").GetInt32(), c.GetProperty("denoise").GetDouble());
            AssertClose(ComfyReference.Floats(c.GetProperty("sigmas")), SigmaSchedules.WithDenoise(SigmaSchedules.SdTurbo, ComfyReference.Sd15, steps, denoise),
                $"sd_turbo {steps} steps denoise {denoise}");
        }

        // One step is [σ(999), 0] whatever KSampler's dpm_2 rule asks; zsnr moves σ(999) to about 4500.
        Assert.Equal([ComfyReference.Sd15.Sigma(999), 0f], SigmaSchedules.WithDenoise(SigmaSchedules.SdTurbo, ComfyReference.Sd15, 1, 1, discardPenultimate: true));
        var zsnr = ComfyReference.Sd15.WithZeroTerminalSnr();
        foreach (var c in ComfyReference.Data.GetProperty("sd_turbo_zsnr").EnumerateArray())
            AssertClose(ComfyReference.Floats(c.GetProperty("sigmas")), SigmaSchedules.WithDenoise(SigmaSchedules.SdTurbo, zsnr, c.GetProperty("steps").GetInt32(), c.GetProperty("denoise").GetDouble()), "sd_turbo zsnr");
    }

    [Fact]
    public void Beta_schedule_with_other_shapes_matches_ComfyUIs_beta_scheduler()
    {
        foreach (var c in ComfyReference.Data.GetProperty("beta_shapes").EnumerateArray())
        {
            var (steps, alpha, beta) = (c.GetProperty("steps").GetInt32(), c.GetProperty("alpha").GetDouble(), c.GetProperty("beta").GetDouble());
            AssertClose(ComfyReference.Floats(c.GetProperty("sigmas")), SigmaSchedules.Compute("beta", ComfyReference.Sd15, steps, alpha, beta), $"beta({alpha}, {beta}) {steps} steps");
        }

        Assert.Throws<ArgumentException>(() => SigmaSchedules.Beta(ComfyReference.Sd15, 10, 0, 0.6));
    }

    [Fact]
    public void Polyexponential_vp_and_laplace_match_k_diffusion_in_float32()
    {
        foreach (var c in ComfyReference.Data.GetProperty("k_schedules").EnumerateArray())
        {
            var (name, steps) = (c.GetProperty("scheduler").GetString()!, c.GetProperty("steps").GetInt32());
            var p = c.GetProperty("settings").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var got = name switch
            {
                "polyexponential" => SigmaSchedules.Polyexponential(p[0], p[1], steps, p[2]),
                "vp" => SigmaSchedules.Vp(steps, p[0], p[1], p[2]),
                _ => SigmaSchedules.Laplace(p[0], p[1], steps, p[2], p[3]),
            };
            AssertClose(ComfyReference.Floats(c.GetProperty("sigmas")), got, $"{name} {steps} steps ({string.Join(", ", p)})");
        }
    }

    [Fact]
    public void Gits_matches_ComfyUIs_table_and_its_interpolation_past_20_steps()
    {
        foreach (var c in ComfyReference.Data.GetProperty("gits").EnumerateArray())
        {
            var (coeff, steps, denoise) = (c.GetProperty("coeff").GetDouble(), c.GetProperty("steps").GetInt32(), c.GetProperty("denoise").GetDouble());
            AssertClose(ComfyReference.Floats(c.GetProperty("sigmas")), Gits.Sigmas(coeff, steps, denoise), $"GITS {coeff} {steps} steps denoise {denoise}");
        }

        Assert.Empty(Gits.Sigmas(1.2, 10, 0));
        Assert.Contains("0.80 … 1.50", Assert.Throws<ArgumentException>(() => Gits.Sigmas(1.23, 10, 1)).Message);
    }

    [Fact]
    public void Extension_names_compute_align_your_steps_and_gits_under_KSamplers_denoise_rule()
    {
        foreach (var c in ComfyReference.Data.GetProperty("extension_schedules").EnumerateArray())
        {
            var (name, steps, denoise, discard) = (c.GetProperty("scheduler").GetString()!, c.GetProperty("steps").GetInt32(), c.GetProperty("denoise").GetDouble(), c.GetProperty("discard").GetBoolean());
            AssertClose(ComfyReference.Floats(c.GetProperty("sigmas")), SigmaSchedules.WithDenoise(name, ComfyReference.Sd15, steps, denoise, discard), $"{name} {steps} steps denoise {denoise} discard {discard}");
        }
    }

    [Fact]
    public void Sigma_edits_split_by_step_and_denoise_and_set_the_first_sigma_as_ComfyUI()
    {
        float[] sigmas = [10, 5, 2, 1, 0];
        Assert.Equal([10f, 5, 2], SigmaEdits.Apply(sigmas, "split 2 high"));
        Assert.Equal([2f, 1, 0], SigmaEdits.Apply(sigmas, "split 2 low"));
        // 4 steps at denoise 0.5: the last round(2) steps are low, the rest high; 0.6 rounds 2.4 to 2, 0.625 rounds 2.5 to even 2.
        Assert.Equal([10f, 5, 2], SigmaEdits.Apply(sigmas, "split_denoise 0.5 high"));
        Assert.Equal([2f, 1, 0], SigmaEdits.Apply(sigmas, "split_denoise 0.625 low"));
        Assert.Equal([5f, 2, 1, 0], SigmaEdits.Apply(sigmas, "split_denoise 0.75 low"));
        // ComfyUI's sigmas[:-0]: a denoise that keeps no step leaves high empty and low the last sigma.
        var (high, low) = SigmaEdits.SplitDenoise(sigmas, 0.1);
        Assert.Empty(high);
        Assert.Equal([0f], low);
        Assert.Equal([136f, 5, 2], SigmaEdits.Apply(sigmas, "split 2 high; first 136"));
        Assert.Contains("strictly falling or strictly rising", Assert.Throws<ArgumentException>(() => SigmaEdits.Apply(sigmas, "first 4")).Message);
        Assert.Equal([0.0001f, 1, 2, 5, 10], SigmaEdits.Apply(sigmas, "flip"));
        Assert.Contains("is not an edit", Assert.Throws<ArgumentException>(() => SigmaEdits.Apply(sigmas, "flip 2")).Message);
        Assert.Contains("is not an edit", Assert.Throws<ArgumentException>(() => SigmaEdits.Apply(sigmas, "split -1 low")).Message);
    }

    [Theory]
    [InlineData(0.1, 0.6, 0.6)]
    [InlineData(0.5, 0.6, 0.6)]
    [InlineData(0.93, 2, 5)]
    public void Beta_quantile_inverts_the_regularized_incomplete_beta(double p, double a, double b)
    {
        var x = BetaDistribution.Quantile(p, a, b);
        Assert.Equal(p, BetaDistribution.RegularizedIncompleteBeta(x, a, b), 12);
    }

    [Fact]
    public void Regularized_incomplete_beta_matches_closed_forms()
    {
        // I_x(1, 1) = x; I_x(2, 1) = x²; I_x(1/2, 1/2) = (2/π) asin √x.
        Assert.Equal(0.3, BetaDistribution.RegularizedIncompleteBeta(0.3, 1, 1), 13);
        Assert.Equal(0.09, BetaDistribution.RegularizedIncompleteBeta(0.3, 2, 1), 13);
        Assert.Equal(2 / Math.PI * Math.Asin(Math.Sqrt(0.3)), BetaDistribution.RegularizedIncompleteBeta(0.3, 0.5, 0.5), 12);
    }

    // The (name, steps, denoise) cases of one reference table.
    private static TheoryData<string, int, double> Table(string section, string key)
    {
        var data = new TheoryData<string, int, double>();
        foreach (var c in ComfyReference.Data.GetProperty(section).EnumerateArray())
            data.Add(c.GetProperty(key).GetString()!, c.GetProperty("steps").GetInt32(), c.GetProperty("denoise").GetDouble());
        return data;
    }

    private static float[] Reference(string section, string key, string name, int steps, double denoise) =>
        ComfyReference.Floats(ComfyReference.Data.GetProperty(section).EnumerateArray()
            .First(c => c.GetProperty(key).GetString() == name && c.GetProperty("steps").GetInt32() == steps && c.GetProperty("denoise").GetDouble() == denoise)
            .GetProperty("sigmas"));

    // Every sigma to 1e-6, relative above 1.
    private static void AssertClose(float[] want, float[] got, string context)
    {
        Assert.Equal(want.Length, got.Length);
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 1e-6 * Math.Max(1, Math.Abs(want[i])), $"{context}: sigma[{i}] {got[i]:R} vs {want[i]:R}");
    }
}
