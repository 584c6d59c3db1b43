using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Tests.Execution;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Tests.Workflows;

/// <summary>JSON workflows bind inputs as YAML ones do: "$name" binds, "$$name" is the text "$name", and { "$input": name } works in both.</summary>
public sealed class JsonInputBindingTests : ExecutionFixture
{
    private const string Json = """
        {
          "flowdiffusion": 1,
          "name": "json",
          "inputs": { "x": { "type": "float", "default": 2 }, "label": { "type": "string", "default": "sum" } },
          "nodes": {
            "a": { "node": "test.number", "with": { "value": "$x" } },
            "b": { "node": "test.number", "with": { "value": { "$input": "x" } } },
            "sum": { "node": "test.add", "in": { "a": "a.result", "b": "b.result" } },
            "text": { "node": "test.text", "with": { "text": "$$x" } }
          }
        }
        """;

    [Fact]
    public async Task Json_dollar_name_and_explicit_input_form_bind_the_input_and_a_run_uses_the_value_set()
    {
        var workflow = WorkflowYamlReader.Read(Json).Workflow!;
        Assert.Equal(new InputReference("x"), workflow.Node("a")!.Parameter("value")!.Value);
        Assert.Equal(new InputReference("x"), workflow.Node("b")!.Parameter("value")!.Value);
        Assert.Equal(new LiteralValue("$x"), workflow.Node("text")!.Parameter("text")!.Value);

        var run = await RunAsync(Json, inputs: new Dictionary<string, object?> { ["x"] = "5" });

        Assert.Equal(RunStatus.Completed, run.Result.Status);
        Assert.Equal(10.0, run.Result.Output("sum", "sum"));
        Assert.Equal("$x", run.Result.Output("text", "result"));
    }

    [Fact]
    public void Yaml_takes_the_explicit_form_while_a_quoted_dollar_stays_text_and_a_bad_reference_names_the_parameter()
    {
        var workflow = WorkflowYamlReader.Read("""
            flowdiffusion: 1
            name: yaml
            inputs:
              x: { type: float, default: 2 }
            nodes:
              a: { node: test.number, with: { value: { $input: x } } }
              t: { node: test.text, with: { text: "$x" } }
            """).Workflow!;
        Assert.Equal(new InputReference("x"), workflow.Node("a")!.Parameter("value")!.Value);
        Assert.Equal(new LiteralValue("$x"), workflow.Node("t")!.Parameter("text")!.Value);

        var bad = WorkflowYamlReader.Read("""
            flowdiffusion: 1
            name: yaml
            nodes:
              a: { node: test.number, with: { value: { $input: [x] } } }
            """);
        Assert.Contains(bad.Diagnostics, d => d.IsError && d.NodeId == "a" && d.Message.Contains("parameter 'value'", StringComparison.Ordinal));
    }
}
