using FlowDiffusion.Diffusion.Schedulers;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

public sealed class DenoisingStrengthTests
{
    public static TheoryData<int, double, int, int> Starts => new()
    {
        { 20, 1.0, 1, 0 },
        { 20, 0.5, 1, 10 },
        { 20, 0.33, 1, 13 },   // 6.6 rounds to 7 steps (diffusers' int() would run 6)
        { 20, 0.0, 1, 20 },
        { 50, 0.75, 1, 12 },
        { 10, 1.0, 2, 0 },
        { 10, 0.5, 2, 10 },
        { 10, 0.0, 2, 19 },    // a second-order schedule has 2N − 1 entries
    };

    [Theory]
    [MemberData(nameof(Starts))]
    public void Start_index_runs_round_steps_times_strength_solver_steps(int steps, double strength, int order, int expected)
    {
        Assert.Equal(expected, DenoisingStrength.StartIndex(steps, strength, order));
    }

    [Theory]
    [InlineData("euler", 0.6)]
    [InlineData("heun", 0.6)]
    [InlineData("kdpm2", 0.3)]
    [InlineData("dpmpp_2m", 0.45)]
    public void Model_calls_from_the_start_index_match_the_strength(string name, double strength)
    {
        var scheduler = SchedulerCatalog.Create(name, SchedulerConfig.FromJson(Sd15ScheduleTests.SdConfigJson));
        scheduler.SetTimesteps(20);
        var start = DenoisingStrength.StartIndex(20, strength, scheduler.Order);
        var calls = scheduler.Timesteps.Count - start;
        var solverSteps = (int)Math.Round(20 * strength);
        Assert.Equal(scheduler.Order == 2 ? 2 * solverSteps - 1 : solverSteps, calls);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Strength_outside_zero_one_is_rejected(double strength)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DenoisingStrength.StartIndex(20, strength));
    }
}
