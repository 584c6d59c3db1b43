using FlowDiffusion.Diffusion.Schedulers;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

/// <summary>
/// diffusers' split of one schedule between two models by fraction (denoising_end on the base, denoising_start on the
/// refiner): the expected entries are worked out by hand from the published rule — cutoff = round(1000 − f·1000), the base
/// keeps t ≥ cutoff, the refiner t &lt; cutoff (+1 entry for second-order schedulers when that count is even) — over the
/// schedules the schedulers themselves produce for SDXL's configuration.
/// </summary>
public sealed class DenoisingFractionTests
{
    // SDXL's scheduler_config.json as the converted folders carry it: leading spacing, steps_offset 1.
    private const string SdxlConfig = """
        { "_class_name": "EulerDiscreteScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
          "num_train_timesteps": 1000, "steps_offset": 1, "timestep_spacing": "leading", "prediction_type": "epsilon" }
        """;

    public static TheoryData<string, int, double, float[], float[]> Splits => new()
    {
        // leading, 10 steps: 901, 801, …, 1; cutoff 200.
        { "euler", 10, 0.8, [901, 801, 701, 601, 501, 401, 301, 201], [101, 1] },
        // 7 steps: step ratio 1000 // 7 = 142 → 853, 711, 569, 427, 285, 143, 1.
        { "euler", 7, 0.8, [853, 711, 569, 427, 285], [143, 1] },
        // 25 steps: 40k + 1; cutoff 250 keeps k ≥ 7 on the base.
        { "euler", 25, 0.75, [961, 921, 881, 841, 801, 761, 721, 681, 641, 601, 561, 521, 481, 441, 401, 361, 321, 281], [241, 201, 161, 121, 81, 41, 1] },
        // cutoff 500 falls on a timestep (501 stays with the base, 401 goes to the refiner); 0.5 → 500.
        { "euler_a", 10, 0.5, [901, 801, 701, 601, 501], [401, 301, 201, 101, 1] },
        // DPM-Solver's leading spacing steps by 1000 // (10 + 1) = 90: 901, 811, …, 91; cutoff 700.
        { "dpmpp_2m", 10, 0.3, [901, 811, 721], [631, 541, 451, 361, 271, 181, 91] },
        // Heun repeats every timestep after the first: 901, 801, 801, …, 1, 1. The base keeps 901 and the pairs ≥ 200; the
        // refiner's four entries below 200 are even, so it starts one earlier, on the second 201.
        { "heun", 10, 0.8, [901, 801, 801, 701, 701, 601, 601, 501, 501, 401, 401, 301, 301, 201, 201], [201, 101, 101, 1, 1] },
    };

    [Theory]
    [MemberData(nameof(Splits))]
    public void Base_keeps_timesteps_at_or_above_the_cutoff_and_the_refiner_the_rest(string name, int steps, double fraction, float[] baseRuns, float[] refinerRuns)
    {
        var scheduler = SchedulerCatalog.Create(name, SchedulerConfig.FromJson(SdxlConfig));
        scheduler.SetTimesteps(steps);
        var timesteps = scheduler.Timesteps;

        var end = DenoisingFraction.EndCount(timesteps, fraction, 1000);
        var start = DenoisingFraction.StartIndex(timesteps, fraction, 1000, scheduler.Order);

        Assert.Equal(baseRuns, timesteps.Take(end));
        Assert.Equal(refinerRuns, timesteps.Skip(start));
    }

    [Theory]
    [InlineData(0.8, 200)]
    [InlineData(0.5, 500)]
    [InlineData(0.0625, 938)]  // 937.5: Python's round goes to the even neighbour
    [InlineData(0.1875, 812)]  // 812.5 → 812, not 813
    [InlineData(0.999, 1)]
    public void Cutoff_is_round_half_to_even_of_t_minus_fraction_t(double fraction, int expected)
    {
        Assert.Equal(expected, DenoisingFraction.Cutoff(fraction, 1000));
    }

    [Fact]
    public void Fractional_timesteps_compare_with_the_integer_cutoff()
    {
        float[] karras = [999.0f, 812.4f, 300.7f, 199.6f, 55.2f];
        Assert.Equal(3, DenoisingFraction.EndCount(karras, 0.8, 1000));
        Assert.Equal(3, DenoisingFraction.StartIndex(karras, 0.8, 1000));
        Assert.Equal(4, DenoisingFraction.EndCount(karras, 0.801, 1000)); // cutoff round(198.99…) = 199: 199.6 now stays with the base
    }

    [Fact]
    public void A_refiner_with_no_timestep_below_the_cutoff_runs_nothing()
    {
        float[] leading = [901, 801, 701, 601, 501, 401, 301, 201, 101, 1];
        Assert.Equal(leading.Length, DenoisingFraction.StartIndex(leading, 0.999, 1000));
        Assert.Equal(0, DenoisingFraction.EndCount(leading, 0.05, 1000)); // cutoff 950: the base runs nothing
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.2)]
    [InlineData(double.NaN)]
    public void Fractions_that_do_not_split_the_schedule_are_rejected(double fraction)
    {
        Assert.False(DenoisingFraction.Splits(fraction));
        Assert.Throws<ArgumentOutOfRangeException>(() => DenoisingFraction.Cutoff(fraction, 1000));
    }
}
