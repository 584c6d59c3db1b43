using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Tests.Execution;

/// <summary>Nodes may skip outputs nothing reads (<c>INodeContext.IsOutputUsed</c>); the cache never serves a skipped one.</summary>
public sealed class UnusedOutputTests : ExecutionFixture
{
    // The sink reads only label.number; text, when it runs, reads label.label.
    private const string Graph = """
        flowdiffusion: 1
        name: labels
        nodes:
          a: { node: test.number, with: { value: 7 } }
          label: { node: test.label, in: { value: a.result } }
          sink: { node: test.sink, in: { value: label.number } }
          text: { node: test.text, in: { prefix: label.label }, with: { text: "!" } }
        """;

    [Fact]
    public async Task Output_that_no_executing_node_reads_is_skipped_and_the_run_completes()
    {
        var run = await RunAsync(Graph);

        Assert.Equal(RunStatus.Completed, run.Result.Status);
        Assert.DoesNotContain("text", run.Executed);
        Assert.Equal(7.0, run.Result.Output("label", "number"));
        Assert.Null(run.Result.Output("label", "label"));
    }

    [Fact]
    public async Task Output_read_by_an_executing_node_is_made()
    {
        var run = await RunAsync(Graph, Options("sink", "text"));

        Assert.Equal(RunStatus.Completed, run.Result.Status);
        Assert.Equal("value = 7 !", run.Result.Output("text", "result"));
    }

    [Fact]
    public async Task Targets_keep_all_their_outputs()
    {
        var run = await RunAsync(Graph, Options("label"));

        Assert.Equal("value = 7", run.Result.Output("label", "label"));
    }

    [Fact]
    public async Task Cached_result_without_an_output_is_not_served_to_a_run_that_reads_it_but_a_complete_one_is()
    {
        await RunAsync(Graph);

        var reading = await RunAsync(Graph, Options("sink", "text"));
        var again = await RunAsync(Graph, Options("sink", "text"));
        var notReading = await RunAsync(Graph);

        Assert.Equal(["a", "sink"], reading.Cached.Order(StringComparer.Ordinal));
        Assert.Equal(["label", "text"], reading.Executed.Order(StringComparer.Ordinal));
        Assert.Equal("value = 7 !", reading.Result.Output("text", "result"));
        Assert.Empty(again.Executed);
        Assert.Empty(notReading.Executed);
    }

    [Fact]
    public async Task Unused_output_left_unset_is_accepted_but_a_used_one_is_still_required()
    {
        // label reads "previews" — not one of its outputs: the node fails, naming the outputs it has.
        var run = await RunAsync(Graph.Replace("label: { node: test.label, in: { value: a.result } }",
            "label: { node: test.label, in: { value: a.result }, with: { probe: previews } }"));

        Assert.Equal(RunStatus.Failed, run.Result.Status);
        Assert.Equal("label", run.Result.FailedNode);
        Assert.Contains("node 'label' (test.label) has no output 'previews'; its outputs are: number, label", run.Result.Error);
    }
}
