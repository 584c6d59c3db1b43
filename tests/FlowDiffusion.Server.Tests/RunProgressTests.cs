using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests;

public sealed class RunProgressTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static NodeProgressed Step(string node, int step, int total, int second) =>
        new("r", T0.AddSeconds(second), node, new NodeProgress((double)step / total, null, step, total));

    [Fact]
    public void Overall_progress_does_not_go_back_when_a_sampler_reveals_its_steps()
    {
        // The reported case: three one-shot nodes done of four (0.75 under equal weights), then a 30-step sampler starts.
        var progress = new RunProgress();
        progress.Observe(new RunStarted("r", T0, ["model", "positive", "noise", "sample"]));
        foreach (var node in new[] { "model", "positive", "noise" }) progress.Observe(new NodeFinished("r", T0.AddSeconds(1), node, "t", TimeSpan.FromSeconds(1)));
        Assert.Equal(0.75, progress.Overall, 10);

        progress.Observe(Step("sample", 0, 30, 2));
        Assert.Equal(0.75, progress.Overall, 10);
        progress.Observe(Step("sample", 1, 30, 3));
        // The sampler's first of 30 steps is 1/30 of the work left: 0.75 + 0.25 / 30.
        Assert.Equal(0.75 + 0.25 / 30, progress.Overall, 10);
        for (var step = 2; step <= 30; step++) progress.Observe(Step("sample", step, 30, 3 + step));
        Assert.Equal(1.0, progress.Overall, 10);
    }

    [Fact]
    public void Overall_progress_never_decreases_over_random_event_orders_and_ends_at_one()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 200; trial++)
        {
            var nodes = Enumerable.Range(0, random.Next(1, 8)).Select(i => $"n{i}").ToList();
            var progress = new RunProgress();
            progress.Observe(new RunStarted("r", T0, nodes));
            var last = 0.0;
            var second = 0;
            foreach (var node in nodes.OrderBy(_ => random.Next()))
            {
                if (random.Next(3) == 0)
                {
                    var total = random.Next(1, 50);
                    // Steps may repeat or come out of order (a restarted loop); the bar must still not move back.
                    foreach (var step in Enumerable.Range(0, total + 1).Select(s => Math.Max(0, s - random.Next(2))))
                    {
                        progress.Observe(Step(node, step, total, ++second));
                        Assert.True(progress.Overall >= last, $"trial {trial}: {progress.Overall} after {last}");
                        last = progress.Overall;
                    }
                }
                RunEvent end = random.Next(2) == 0
                    ? new NodeCached("r", T0.AddSeconds(++second), node, "t")
                    : new NodeFinished("r", T0.AddSeconds(++second), node, "t", TimeSpan.FromSeconds(1));
                progress.Observe(end);
                Assert.True(progress.Overall >= last && progress.Overall <= 1, $"trial {trial}: {progress.Overall} after {last}");
                last = progress.Overall;
            }
            Assert.Equal(1.0, progress.Overall, 10);
        }
    }

    [Fact]
    public void Eta_extrapolates_the_elapsed_time()
    {
        var progress = new RunProgress();
        progress.Observe(new RunStarted("r", T0, ["a", "b"]));
        progress.Observe(new NodeFinished("r", T0.AddSeconds(10), "a", "t", TimeSpan.FromSeconds(10)));
        Assert.Equal(10, progress.EtaSeconds!.Value, 6);
    }
}
