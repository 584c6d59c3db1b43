using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Tests.Execution;

public sealed class CancellationTests : ExecutionFixture
{
    private const string Slow = """
        flowdiffusion: 1
        name: slow
        inputs:
          ms: { type: int, default: 120000 }
          steps: { type: int, default: 1000 }
        nodes:
          a: { node: test.number, with: { value: 2 } }
          slow: { node: test.delay, in: { value: a.result }, with: { milliseconds: $ms, steps: $steps } }
          after: { node: test.multiply, in: { value: slow.result }, with: { factor: 2 } }
        """;

    [Fact]
    public async Task Cancelling_mid_node_ends_the_run_as_cancelled_without_waiting_for_the_node()
    {
        // A grace far longer than the test proves the node stopped on its token, not by being abandoned.
        var options = Options() with { CancellationGrace = TimeSpan.FromMinutes(5) };

        var run = await RunAsync(Slow, options, onEvent: CancelOnFirstProgress("slow"));

        Assert.Equal(RunStatus.Cancelled, run.Result.Status);
        Assert.True(run.Result.Duration < TimeSpan.FromSeconds(60), $"the run took {run.Result.Duration} of the node's 120 s");
        Assert.Contains("slow", run.Executed);
        Assert.DoesNotContain(run.Events, e => e is NodeFinished { NodeId: "slow" or "after" });
        Assert.Null(run.Result.Output("slow", "result"));
        Assert.Equal("run_cancelled", run.Kinds[^1]);
        Assert.Equal(["a"], run.Result.Nodes.Select(n => n.NodeId));
    }

    [Fact]
    public async Task Cache_stays_valid_after_a_cancelled_run()
    {
        await RunAsync(Slow, onEvent: CancelOnFirstProgress("slow"));
        Assert.Equal(1, Cache.Count);

        var rerun = await RunAsync(Slow, inputs: new Dictionary<string, object?> { ["ms"] = "1", ["steps"] = "1" });

        Assert.Equal(RunStatus.Completed, rerun.Result.Status);
        Assert.Equal(["a"], rerun.Cached);
        Assert.Equal(["slow", "after"], rerun.Executed);
        Assert.Equal(4.0, rerun.Result.Output("after", "product"));
    }

    [Fact]
    public async Task Node_that_ignores_cancellation_is_abandoned_after_the_grace_period()
    {
        const string hang = """
            flowdiffusion: 1
            name: hang
            nodes:
              stuck: { node: test.hang, with: { milliseconds: 60000 } }
            """;
        var grace = TimeSpan.FromMilliseconds(300);
        var cancelledAt = TimeSpan.Zero;
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var run = await RunAsync(hang, Options() with { CancellationGrace = grace }, onEvent: (r, e) =>
        {
            if (e is not NodeProgressed { NodeId: "stuck" }) return;
            cancelledAt = clock.Elapsed;
            r.Cancel();
        });
        var waited = clock.Elapsed - cancelledAt;

        Assert.Equal(RunStatus.Cancelled, run.Result.Status);
        Assert.True(waited >= grace - TimeSpan.FromMilliseconds(20), $"abandoned after {waited}, before the {grace} grace");
        Assert.True(waited < TimeSpan.FromSeconds(30), $"waited {waited} for a node that blocks 60 s");
        Assert.DoesNotContain(run.Events, e => e is NodeFinished);

        // The host stays up: the same executor runs the next workflow.
        var next = await RunAsync("flowdiffusion: 1\nname: next\nnodes:\n  n: { node: test.number, with: { value: 7 } }\n");
        Assert.Equal(7.0, next.Result.Output("n", "result"));
    }

    [Fact]
    public async Task Run_cancelled_before_it_starts_executes_nothing()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        var run = await RecordedRun.RunAsync(Executor, TestPack.Plan(Slow), Options(), cancellationToken: cancelled.Token);

        Assert.Equal(RunStatus.Cancelled, run.Result.Status);
        Assert.Empty(run.Executed);
        Assert.Equal(0, Cache.Count);
    }

    private static Action<WorkflowRun, RunEvent> CancelOnFirstProgress(string nodeId) => (run, e) =>
    {
        if (e is NodeProgressed progressed && progressed.NodeId == nodeId) run.Cancel();
    };
}
