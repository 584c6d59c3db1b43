using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Tests.Execution;

public sealed class ExecutionResultTests : ExecutionFixture
{
    private const string Arithmetic = """
        flowdiffusion: 1
        name: arithmetic
        nodes:
          times: { node: test.multiply, in: { value: sum.sum }, with: { factor: 4 } }
          sum: { node: test.add, in: { a: a.result, b: b.result } }
          a: { node: test.number, with: { value: 2 } }
          b: { node: test.number, with: { value: 3 } }
          halve: { node: test.multiply, in: { value: b.result }, with: { factor: 0.5, rounding: floor } }
        """;

    [Fact]
    public async Task Nodes_run_in_dependency_order_whatever_the_file_order()
    {
        var run = await RunAsync(Arithmetic);

        Assert.Equal(RunStatus.Completed, run.Result.Status);
        Assert.Equal(20.0, run.Result.Output("times", "product"));
        Assert.Equal(5.0, run.Result.Output("sum", "sum"));
        Assert.Equal(1.0, run.Result.Output("halve", "product"));
        var started = run.Events.OfType<RunStarted>().Single().Nodes.ToList();
        Assert.True(started.IndexOf("sum") > started.IndexOf("a") && started.IndexOf("sum") > started.IndexOf("b"));
        Assert.True(started.IndexOf("times") > started.IndexOf("sum"));
    }

    [Fact]
    public async Task Text_nodes_join_prefix_separator_and_repeated_text()
    {
        var run = await RunAsync("""
            flowdiffusion: 1
            name: text
            nodes:
              first: { node: test.text, with: { text: "hello" } }
              second: { node: test.text, in: { prefix: first.result }, with: { text: "world", separator: "-", repeat: 2, upper: true } }
            """);

        Assert.Equal("HELLO-WORLDWORLD", run.Result.Output("second", "result"));
    }

    [Fact]
    public async Task Targets_run_only_what_the_chosen_outputs_need()
    {
        var run = await RunAsync(Arithmetic, Options("sum"));

        Assert.Equal(RunStatus.Completed, run.Result.Status);
        Assert.Equal(["a", "b", "sum"], run.Executed.Order(StringComparer.Ordinal));
        Assert.Equal(["a", "b", "sum"], run.Events.OfType<RunStarted>().Single().Nodes.Order(StringComparer.Ordinal));
        Assert.Equal(["a", "b", "sum"], run.Result.Nodes.Select(n => n.NodeId).Order(StringComparer.Ordinal));
        Assert.Null(run.Result.Output("times", "product"));
        Assert.Equal(5.0, run.Result.Output("sum", "sum"));
    }

    [Fact]
    public async Task Without_targets_the_output_nodes_are_the_targets()
    {
        var run = await RunAsync(Arithmetic + "\n  save: { node: test.sink, in: { value: times.product }, with: { prefix: answer } }");

        Assert.Equal(["a", "b", "save", "sum", "times"], run.Executed.Order(StringComparer.Ordinal));
        var file = Path.Combine(OutputDirectory, "answer-save.txt");
        Assert.Equal([file], run.Result.OutputFiles);
        Assert.Equal("20", File.ReadAllText(file));
        Assert.Equal(file, run.Events.OfType<OutputWritten>().Single().Path);
    }

    [Fact]
    public async Task Without_targets_or_output_nodes_every_node_runs()
    {
        var run = await RunAsync(Arithmetic);

        Assert.Equal(["a", "b", "halve", "sum", "times"], run.Executed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Every_node_has_a_timing_and_executed_ones_took_time()
    {
        var run = await RunAsync("""
            flowdiffusion: 1
            name: timed
            nodes:
              a: { node: test.number, with: { value: 1 } }
              wait: { node: test.delay, in: { value: a.result }, with: { milliseconds: 30, steps: 3 } }
            """);

        Assert.Equal(["a", "wait"], run.Result.Nodes.Select(n => n.NodeId).Order(StringComparer.Ordinal));
        var wait = run.Result.Nodes.Single(n => n.NodeId == "wait");
        Assert.Equal(("test.delay", false), (wait.NodeType, wait.Cached));
        Assert.True(wait.Duration >= TimeSpan.FromMilliseconds(25), $"the delay node ran {wait.Duration}");
        Assert.Equal(wait.Duration, run.Events.OfType<NodeFinished>().Single(e => e.NodeId == "wait").Duration);
        Assert.Equal(2, run.Result.Executed);
    }

    [Fact]
    public async Task Unknown_target_fails_the_run_with_the_known_node_ids()
    {
        var run = await RunAsync(Arithmetic, Options("nope"));

        Assert.Equal(RunStatus.Failed, run.Result.Status);
        Assert.Equal("target 'nope' is not a node of the workflow; its nodes are: a, b, sum, halve, times", run.Result.Error);
        Assert.Empty(run.Result.Nodes);
    }
}
