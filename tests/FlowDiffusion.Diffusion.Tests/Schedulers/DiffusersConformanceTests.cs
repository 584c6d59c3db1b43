using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

public sealed class DiffusersConformanceTests
{
    public static IEnumerable<object[]> FullLoopCases => SchedulerOracle.Cases("expected.json");

    [Theory]
    [MemberData(nameof(FullLoopCases))]
    public void Full_loop_matches_diffusers_test_suite(string id)
    {
        var entry = SchedulerOracle.Case("expected.json", id);
        var (sum, mean) = SchedulerOracle.Reduce(SchedulerOracle.Run(entry));
        var expected = entry["expected"]!;
        var tolerance = entry["tolerance"]!;
        var measured = entry["measured_double_reduction"] ?? entry["measured"]!;

        if (expected["sum"] is { } expectedSum)
        {
            Assert.True(Math.Abs(sum - (double)expectedSum) < (double)tolerance["sum"]!,
                $"{id}: sum {sum:R}, diffusers asserts {expectedSum} ± {tolerance["sum"]} (reference measured {measured["sum"]})");
        }

        if (expected["mean"] is { } expectedMean)
        {
            Assert.True(Math.Abs(mean - (double)expectedMean) < (double)tolerance["mean"]!,
                $"{id}: mean {mean:R}, diffusers asserts {expectedMean} ± {tolerance["mean"]} (reference measured {measured["mean"]})");
        }

        // Tighter than upstream: the float32 reference itself, within 1e-4 relative.
        var reference = (double)(measured["mean"] ?? measured["sum"])!;
        var ours = measured["mean"] is not null ? mean : sum;
        Assert.True(Math.Abs(ours - reference) <= 1e-4 * Math.Abs(reference) + 1e-9,
            $"{id}: {ours:R} vs the reference run's {reference:R}");
    }
}
