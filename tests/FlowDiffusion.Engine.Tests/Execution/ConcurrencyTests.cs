using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Tests.Execution;

/// <summary>
/// Concurrency is proven with rendezvous nodes: each waits until all parties of its group are executing at once,
/// so success means they overlapped and a timeout means the executor held one back. No timing is asserted.
/// </summary>
public sealed class ConcurrencyTests : ExecutionFixture
{
    private static string Meeting(int branches, int parties, int timeoutMs)
    {
        var nodes = string.Concat(Enumerable.Range(1, branches).Select(i =>
            $"  meet{i}: {{ node: test.rendezvous, in: {{ value: a.result }}, with: {{ group: g, parties: {parties}, timeout_ms: {timeoutMs} }} }}\n"));
        return $"flowdiffusion: 1\nname: meeting\nnodes:\n  a: {{ node: test.number, with: {{ value: 1.5 }} }}\n{nodes}";
    }

    [Fact]
    public async Task Independent_branches_run_at_the_same_time()
    {
        var run = await RunAsync(Meeting(2, 2, 60_000) + "  both: { node: test.add, in: { a: meet1.result, b: meet2.result } }\n",
            Options() with { MaxConcurrency = 2 });

        Assert.Equal(RunStatus.Completed, run.Result.Status);
        Assert.Equal(3.0, run.Result.Output("both", "sum"));
    }

    [Fact]
    public async Task Concurrency_limit_of_one_runs_branches_one_at_a_time()
    {
        var run = await RunAsync(Meeting(2, 2, 300), Options() with { MaxConcurrency = 1 });

        Assert.Equal(RunStatus.Failed, run.Result.Status);
        Assert.Matches(@"^node 'meet[12]' \(test\.rendezvous, plugin 'flowdiffusion\.test-nodes'\) failed: only part of the 2 rendezvous nodes of group 'g' ran at the same time$", run.Result.Error);
    }

    [Fact]
    public async Task Concurrency_limit_caps_how_many_nodes_execute_at_once()
    {
        var three = await RunAsync(Meeting(3, 3, 60_000), Options() with { MaxConcurrency = 3 });
        var capped = await RunAsync(Meeting(3, 3, 300), Options() with { MaxConcurrency = 2 });

        Assert.Equal(RunStatus.Completed, three.Result.Status);
        Assert.Equal(RunStatus.Failed, capped.Result.Status);
        Assert.Contains("only part of the 3 rendezvous nodes", capped.Result.Error);
    }
}
