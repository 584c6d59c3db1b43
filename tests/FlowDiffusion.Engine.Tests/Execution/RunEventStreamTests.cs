using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Tests.Execution;

public sealed class RunEventStreamTests : ExecutionFixture
{
    private const string Diamond = """
        flowdiffusion: 1
        name: diamond
        nodes:
          a: { node: test.number, with: { value: 1 } }
          left: { node: test.delay, in: { value: a.result }, with: { milliseconds: 8, steps: 4 } }
          right: { node: test.multiply, in: { value: a.result }, with: { factor: 3 } }
          join: { node: test.add, in: { a: left.result, b: right.product } }
          save: { node: test.sink, in: { value: join.sum } }
        """;

    [Fact]
    public async Task Run_started_comes_first_and_run_finished_last()
    {
        var run = await RunAsync(Diamond);

        Assert.Equal("run_started", run.Kinds[0]);
        Assert.Equal("run_finished", run.Kinds[^1]);
        Assert.Single(run.Events, e => e is RunStarted);
        Assert.Single(run.Events, e => e is RunFinished);
        Assert.All(run.Events, e => Assert.Equal(run.Result.RunId, e.RunId));
        Assert.Equal(run.Result.OutputFiles, ((RunFinished)run.Events[^1]).OutputFiles);
    }

    [Fact]
    public async Task Each_node_starts_after_its_sources_finish_and_finishes_after_its_progress()
    {
        var run = await RunAsync(Diamond);

        int At<T>(string node) where T : RunEvent =>
            run.Events.Select((e, i) => (e, i)).Single(x => x.e is T && NodeOf(x.e) == node).i;
        foreach (var (node, sources) in new[] { ("left", new[] { "a" }), ("right", ["a"]), ("join", ["left", "right"]), ("save", ["join"]) })
        foreach (var source in sources)
            Assert.True(At<NodeFinished>(source) < At<NodeStarted>(node), $"{node} started before {source} finished");
        foreach (var node in new[] { "a", "left", "right", "join", "save" })
            Assert.True(At<NodeStarted>(node) < At<NodeFinished>(node));

        var progress = run.Events.OfType<NodeProgressed>().Where(e => e.NodeId == "left").Select(e => e.Progress).ToList();
        Assert.Equal([1, 2, 3, 4], progress.Select(p => p.Step));
        Assert.Equal([0.25, 0.5, 0.75, 1.0], progress.Select(p => p.Fraction));
        Assert.All(run.Events.Select((e, i) => (e, i)).Where(x => x.e is NodeProgressed { NodeId: "left" }),
            x => Assert.InRange(x.i, At<NodeStarted>("left"), At<NodeFinished>("left")));
        Assert.True(run.Events.Select((e, i) => (e, i)).Single(x => x.e is OutputWritten).i < At<NodeFinished>("save"));
    }

    [Fact]
    public async Task Run_started_lists_the_nodes_in_a_dependency_order()
    {
        var run = await RunAsync(Diamond);

        var nodes = run.Events.OfType<RunStarted>().Single().Nodes;
        Assert.Equal(["a", "join", "left", "right", "save"], nodes.Order(StringComparer.Ordinal));
        Assert.Equal("a", nodes[0]);
        Assert.Equal(["join", "save"], nodes.Skip(3));
    }

    [Fact]
    public async Task Cached_rerun_reports_node_cached_events_only()
    {
        await RunAsync(Diamond);

        var rerun = await RunAsync(Diamond);

        Assert.Equal(["run_started", "node_cached", "node_cached", "node_cached", "node_cached", "node_cached", "run_finished"], rerun.Kinds);
        Assert.All(rerun.Events.OfType<NodeCached>(), e => Assert.StartsWith("test.", e.NodeType));
    }

    private static string? NodeOf(RunEvent e) => e switch
    {
        NodeStarted s => s.NodeId,
        NodeFinished f => f.NodeId,
        NodeCached c => c.NodeId,
        NodeProgressed p => p.NodeId,
        OutputWritten o => o.NodeId,
        _ => null,
    };
}
