using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Tests.Execution;

/// <summary>Bypass (mute): a node marked <c>bypass: true</c> does not run and its outputs pass on its same-typed inputs.</summary>
public sealed class BypassTests : ExecutionFixture
{
    private const string Chain = """
        flowdiffusion: 1
        name: bypass
        nodes:
          a: { node: test.number, with: { value: 2 } }
          b: { node: test.number, with: { value: 3 } }
          sum: { node: test.add, in: { a: a.result, b: b.result }, bypass: true }
          times: { node: test.multiply, in: { value: sum.sum }, with: { factor: 4 } }
        """;

    [Fact]
    public async Task Bypassed_node_does_not_run_and_passes_its_first_same_typed_input_through()
    {
        var run = await RunAsync(Chain);

        Assert.Equal(RunStatus.Completed, run.Result.Status);
        // a (2) passes through the bypassed sum into times: 2 × 4, where the sum would have given 20.
        Assert.Equal(8.0, run.Result.Output("times", "product"));
        Assert.DoesNotContain("sum", run.Executed);
    }

    [Fact]
    public async Task Bypass_through_a_chain_of_bypassed_nodes_reaches_the_first_running_source()
    {
        var run = await RunAsync(Chain.Replace("times: { node: test.multiply, in: { value: sum.sum }, with: { factor: 4 } }",
            "mid: { node: test.multiply, in: { value: sum.sum }, with: { factor: 10 }, bypass: true }\n  times: { node: test.multiply, in: { value: mid.product }, with: { factor: 4 } }"));

        Assert.Equal(RunStatus.Completed, run.Result.Status);
        Assert.Equal(8.0, run.Result.Output("times", "product"));
    }

    [Fact]
    public void Bypassed_node_with_no_input_of_the_output_type_is_an_error_on_that_node()
    {
        var result = TestPack.Validate("""
            flowdiffusion: 1
            name: bypass
            nodes:
              a: { node: test.number, with: { value: 2 }, bypass: true }
              times: { node: test.multiply, in: { value: a.result }, with: { factor: 4 } }
            """);

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors, e => e.NodeId == "a");
        Assert.Contains("bypassed", error.Message);
        Assert.Contains("times.value", error.Message);
    }

    [Fact]
    public void Bypass_round_trips_through_yaml_and_is_written_only_when_set()
    {
        var read = WorkflowYamlReader.Read(Chain);
        Assert.True(read.Workflow!.Node("sum")!.Bypass);
        Assert.False(read.Workflow.Node("a")!.Bypass);
        var yaml = WorkflowYamlWriter.Write(read.Workflow);
        Assert.Single(yaml.Split('\n'), l => l.Contains("bypass: true", StringComparison.Ordinal));
        Assert.True(WorkflowYamlReader.Read(yaml).Workflow!.Node("sum")!.Bypass);

        var wrong = WorkflowYamlReader.Read(Chain.Replace("bypass: true", "bypass: maybe"));
        Assert.Contains(wrong.Diagnostics, d => d.IsError && d.NodeId == "sum" && d.Message.Contains("true or false", StringComparison.Ordinal));
    }
}
