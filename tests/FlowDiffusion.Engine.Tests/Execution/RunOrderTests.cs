using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Engine.Tests.Execution;

/// <summary>
/// The executor numbers runs in the order they are started and marks every node's work (and the tasks a node starts)
/// with its run's number, which shared resources read to serve older runs first.
/// </summary>
public sealed class RunOrderTests : ExecutionFixture
{
    // Two branches side by side and a node after one of them, all reading the run's number.
    private static string Workflow(double value) =>
        $"flowdiffusion: 1\nname: order\nnodes:\n  a: {{ node: test.number, with: {{ value: {value} }} }}\n"
        + "  left: { node: test.run_order, in: { after: a.result } }\n"
        + "  right: { node: test.run_order, in: { after: a.result } }\n"
        + "  last: { node: test.run_order, in: { after: left.order } }\n";

    private static double[] Numbers(RunResult result) =>
        [.. new[] { "left", "right", "last" }.Select(node => (double)result.Output(node, "order")!)];

    [Fact]
    public async Task Every_node_of_a_run_works_under_its_runs_number_and_runs_started_later_have_higher_numbers()
    {
        var before = RunOrder.Next();
        // Started one after the other and run at the same time: numbered in the order they were started.
        var first = Executor.Start(TestPack.Plan(Workflow(1)), Options() with { MaxConcurrency = 2 }, collectEvents: false);
        var second = Executor.Start(TestPack.Plan(Workflow(2)), Options() with { MaxConcurrency = 2 }, collectEvents: false);
        var results = await Task.WhenAll(first.Completion, second.Completion);

        Assert.All(results, result => Assert.Equal(RunStatus.Completed, result.Status));
        var (one, two) = (Numbers(results[0]), Numbers(results[1]));
        Assert.Single(one.Distinct());
        Assert.Single(two.Distinct());
        Assert.True(one[0] > before, $"first run {one[0]}, a number taken before it {before}");
        Assert.True(two[0] > one[0], $"second run {two[0]}, first {one[0]}");
        // The mark stays with the run's work: the code that started the runs works for none.
        Assert.Null(RunOrder.Current);
    }
}
