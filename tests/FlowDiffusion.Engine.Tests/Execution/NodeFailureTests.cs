using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Tests.Execution;

public sealed class NodeFailureTests : ExecutionFixture
{
    private const string Throwing = """
        flowdiffusion: 1
        name: throwing
        nodes:
          a: { node: test.number, with: { value: 2 } }
          b: { node: test.number, with: { value: 3 } }
          sum: { node: test.add, in: { a: a.result, b: b.result } }
          boom: { node: test.throw, in: { value: sum.sum }, with: { message: "the disk is full" } }
        """;

    [Fact]
    public async Task Throwing_node_fails_the_run_naming_node_type_plugin_and_cause()
    {
        var run = await RunAsync(Throwing);

        Assert.Equal(RunStatus.Failed, run.Result.Status);
        Assert.Equal("boom", run.Result.FailedNode);
        Assert.Equal("node 'boom' (test.throw, plugin 'flowdiffusion.test-nodes') failed: the disk is full", run.Result.Error);
        var failed = run.Events.OfType<NodeFailed>().Single();
        Assert.Equal(("boom", "test.throw"), (failed.NodeId, failed.NodeType));
        var end = Assert.IsType<RunFailed>(run.Events[^1]);
        Assert.Equal(("boom", run.Result.Error), (end.NodeId, end.Error));
    }

    [Fact]
    public async Task Cache_stays_valid_after_a_node_throws()
    {
        await RunAsync(Throwing);

        var rerun = await RunAsync(Throwing, Options("sum"));

        Assert.Equal(RunStatus.Completed, rerun.Result.Status);
        Assert.Empty(rerun.Executed);
        Assert.Equal(["a", "b", "sum"], rerun.Cached.Order(StringComparer.Ordinal));
        Assert.Equal(5.0, rerun.Result.Output("sum", "sum"));
    }

    [Fact]
    public async Task Output_of_the_wrong_type_fails_the_node_and_is_not_cached()
    {
        var run = await RunAsync("""
            flowdiffusion: 1
            name: corrupt
            nodes:
              bad: { node: test.corrupt_output }
              use: { node: test.multiply, in: { value: bad.result } }
            """);

        Assert.Equal(RunStatus.Failed, run.Result.Status);
        Assert.Equal("node 'bad' (test.corrupt_output, plugin 'flowdiffusion.test-nodes') failed: output 'result' holds a String, not the declared FLOAT", run.Result.Error);
        Assert.DoesNotContain("use", run.Executed);
        Assert.Equal(0, Cache.Count);
    }
}
