using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Engine.Tests.Workflows;

/// <summary>
/// A workflow input can share a node parameter's choices (<c>choices: node.parameter</c>) instead of repeating them, and a
/// node parameter can take its choices from code (<see cref="ParameterAttribute.ChoicesFrom"/>).
/// </summary>
public sealed class InputChoicesTests
{
    private static string Yaml(string choices) => $$"""
        flowdiffusion: 1
        name: shared choices
        inputs:
          sep: { type: string, default: "-", choices: {{choices}} }
          rounding: { type: string, default: floor, choices: m.rounding }
        nodes:
          a: { node: test.number, with: { value: 2 } }
          m: { node: test.multiply, in: { value: a.result }, with: { rounding: $rounding } }
          t: { node: test.text, with: { text: x, separator: $sep } }
        """;

    [Fact]
    public void An_input_shares_the_choices_of_the_parameter_it_names_for_validation_and_forms()
    {
        var read = WorkflowYamlReader.Read(Yaml("t.separator"), "shared.yaml");
        var workflow = read.Workflow!;

        Assert.Equal([" ", "-", ", "], InputChoices.Of(workflow.Input("sep")!, workflow, TestPack.Catalog));
        Assert.Equal(["none", "floor", "nearest_even"], InputChoices.Of(workflow.Input("rounding")!, workflow, TestPack.Catalog));
        Assert.True(TestPack.Validate(Yaml("t.separator"), new Dictionary<string, object?> { ["sep"] = ", " }).IsValid);
        var refused = TestPack.Validate(Yaml("t.separator"), new Dictionary<string, object?> { ["sep"] = "+" });
        Assert.Equal("test.yaml:4:3: --set sep: '+' is not one of: ' ', '-', ', ' (did you mean ' '?)", Assert.Single(refused.Diagnostics).ToString());
    }

    [Theory]
    [InlineData("t.separatr", "test.yaml:4:3: workflow input 'sep': choices: t.separatr: 'test.text' has no parameter 'separatr'; did you mean 'separator'?")]
    [InlineData("x.separator", "test.yaml:4:3: workflow input 'sep': choices: x.separator: the workflow has no node 'x'; did you mean 'a'?")]
    [InlineData("t.text", "test.yaml:4:3: workflow input 'sep': choices: t.text: parameter 'text' of 'test.text' takes any value; give the input a list instead")]
    public void A_reference_that_does_not_resolve_is_an_error_at_the_input(string choices, string expected)
    {
        var result = TestPack.Validate(Yaml(choices));

        Assert.Equal(expected, Assert.Single(result.Diagnostics).ToString());
    }

    [Fact]
    public void Choices_that_are_neither_a_list_nor_a_node_parameter_are_refused_by_the_reader()
    {
        var read = WorkflowYamlReader.Read(Yaml("separator"), "shared.yaml");

        Assert.Contains(read.Diagnostics, d => d.ToString() == "shared.yaml:4:47: input 'sep': 'choices' must be a list, or the node parameter whose choices it shares (node.parameter, e.g. schedule.name)");
    }

    [Fact]
    public void The_reference_is_written_back_as_it_was_read()
    {
        var workflow = WorkflowYamlReader.Read(Yaml("t.separator"), "shared.yaml").Workflow!;

        var written = WorkflowYamlWriter.Write(workflow);

        Assert.Contains("  sep: {type: string, default: '-', choices: t.separator}\n", written, StringComparison.Ordinal);
        Assert.Contains("  rounding: {type: string, default: floor, choices: m.rounding}\n", written, StringComparison.Ordinal);
        Assert.Equal("t.separator", WorkflowYamlReader.Read(written, "again.yaml").Workflow!.Input("sep")!.ChoicesOf);
    }

    [Fact]
    public void A_parameter_takes_its_choices_from_an_IParameterChoices_type()
    {
        var descriptor = NodeDescriptorReader.Read(typeof(PickNode), "tests");

        Assert.Equal(["alpha", "beta"], descriptor.Parameter("pick")!.Choices);
        var bad = Assert.Throws<NodeDeclarationException>(() => NodeDescriptorReader.Read(typeof(BadPickNode), "tests"));
        Assert.Equal($"node 'tests.bad_pick': parameter 'pick' takes its choices from {typeof(string).FullName}, which is not an IParameterChoices with a parameterless constructor.", bad.Message);
    }

    public sealed class Greek : IParameterChoices
    {
        public IReadOnlyList<string> Choices => ["alpha", "beta"];
    }

    [Node("tests.pick", "1.0.0")]
    public sealed class PickNode : INode
    {
        [Parameter(ChoicesFrom = typeof(Greek))]
        public string Pick { get; set; } = "alpha";

        [Output]
        public string Result { get; set; } = "";

        public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [Node("tests.bad_pick", "1.0.0")]
    public sealed class BadPickNode : INode
    {
        [Parameter(ChoicesFrom = typeof(string))]
        public string Pick { get; set; } = "alpha";

        [Output]
        public string Result { get; set; } = "";

        public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
