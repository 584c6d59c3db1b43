using System.Text;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Tests.Workflows;

public sealed class WorkflowRoundTripTests
{
    // Deliberately unordered keys, flow and block styles mixed, every feature the writer must keep.
    private const string Rich = """
        flowdiffusion: 1
        name: round trip
        description: "Every feature: inputs, titles, edges, lists, editor."
        inputs:
          base: { type: float, default: 2.5, min: -10, max: 10, description: The start value }
          repeat: { type: int, default: 2, min: 1, max: 10 }
          separator: { type: string, default: "-", choices: [" ", "-", ", "] }
          shout: { type: bool, default: false }
          weights: { type: "float[]", default: [0.5, 1, 2.25] }
          tags: { type: "string[]", default: [a, "1", "true"] }
          model: { type: string, default: models/tiny-sd, kind: model }
        nodes:
          start:
            with: { value: $base }
            node: test.number
            title: The start
          times:
            node: test.multiply
            in: { value: start.result }
            with: { factor: -0.125, rounding: nearest_even }
          prompt:
            node: test.text
            with:
              text: |
                a watercolor painting
                  of an otter, indented
                last line
              repeat: $repeat
              separator: $separator
              upper: $shout
          suffix:
            node: test.text
            in: { prefix: prompt.result }
            with: { text: "no trailing newline\nsecond line" }
          numbers:
            node: test.text
            with: { text: "42" }
          sink:
            node: test.sink
            in: { value: times.product }
            with: { prefix: "$$dollar" }
        editor:
          positions: { start: [40, 80], times: [320.5, -40.25], prompt: [0, 0] }
          viewport: [12.5, -300, 0.75]
        """;

    [Fact]
    public void Load_save_load_keeps_every_field()
    {
        var first = Read(Rich);
        var second = Read(WorkflowYamlWriter.Write(first));

        Assert.Equal(Strip(first), Strip(second));
        Assert.Equal("round trip", second.Name);
        Assert.Equal("Every feature: inputs, titles, edges, lists, editor.", second.Description);
        Assert.Equal(["base", "repeat", "separator", "shout", "weights", "tags", "model"], second.Inputs.Select(i => i.Name));
        Assert.Equal(["start", "times", "prompt", "suffix", "numbers", "sink"], second.Nodes.Select(n => n.Id));
    }

    [Fact]
    public void Round_trip_keeps_editor_positions_and_viewport()
    {
        var editor = Read(WorkflowYamlWriter.Write(Read(Rich))).Editor!;

        Assert.Equal(
            [new("start", new NodePosition(40, 80)), new("times", new NodePosition(320.5, -40.25)), new("prompt", new NodePosition(0, 0))],
            editor.Positions);
        Assert.Equal((12.5, -300.0, 0.75), editor.Viewport);
    }

    [Fact]
    public void Round_trip_keeps_input_declarations()
    {
        var inputs = Read(WorkflowYamlWriter.Write(Read(Rich))).Inputs.ToDictionary(i => i.Name);

        Assert.Equal((ParameterValueType.Number, 2.5, -10.0, 10.0, "The start value"), (inputs["base"].Type, inputs["base"].Default, inputs["base"].Min, inputs["base"].Max, inputs["base"].Description));
        Assert.Equal((ParameterValueType.Integer, (object)2L), (inputs["repeat"].Type, inputs["repeat"].Default));
        Assert.Equal([" ", "-", ", "], inputs["separator"].Choices!);
        Assert.Equal(false, inputs["shout"].Default);
        Assert.Equal([0.5, 1L, 2.25], (List<object?>)inputs["weights"].Default!);
        Assert.Equal(["a", "1", "true"], (List<object?>)inputs["tags"].Default!);
        Assert.Equal("model", inputs["model"].Kind);
    }

    [Fact]
    public void Multi_line_prompts_survive_byte_for_byte()
    {
        var saved = WorkflowYamlWriter.Write(Read(Rich));
        var workflow = Read(saved);

        Assert.Equal("a watercolor painting\n  of an otter, indented\nlast line\n", Literal(workflow, "prompt", "text"));
        Assert.Equal("no trailing newline\nsecond line", Literal(workflow, "suffix", "text"));
        Assert.Contains("text: |", saved);
    }

    [Theory]
    [InlineData("42")]
    [InlineData("-7")]
    [InlineData("3.14")]
    [InlineData("1e3")]
    [InlineData(".5")]
    [InlineData("007")]
    [InlineData("true")]
    [InlineData("False")]
    [InlineData("null")]
    [InlineData("~")]
    [InlineData("")]
    [InlineData(" padded ")]
    [InlineData("a: b")]
    [InlineData("# not a comment")]
    [InlineData("[1, 2]")]
    public void Strings_that_look_like_other_values_stay_strings(string text)
    {
        var workflow = Workflow(new LiteralValue(text));

        var back = Read(WorkflowYamlWriter.Write(workflow));

        Assert.Equal(text, Assert.IsType<string>(Literal(back, "n", "text")));
    }

    [Theory]
    [InlineData(42L)]
    [InlineData(-7L)]
    [InlineData(3.14)]
    [InlineData(2.0)]
    [InlineData(1e-7)]
    [InlineData(true)]
    [InlineData(false)]
    public void Numbers_and_booleans_keep_their_type(object value)
    {
        var back = Read(WorkflowYamlWriter.Write(Workflow(new LiteralValue(value))));

        var read = Literal(back, "n", "text");
        Assert.Equal(value.GetType(), read!.GetType());
        Assert.Equal(value, read);
    }

    [Fact]
    public void Dollar_escape_is_a_literal_and_a_bare_dollar_name_binds_an_input()
    {
        var workflow = Read("""
            flowdiffusion: 1
            name: dollars
            inputs:
              price: { type: string, default: "5" }
            nodes:
              bound: { node: test.text, with: { text: $price } }
              escaped: { node: test.text, with: { text: $$price } }
              quoted: { node: test.text, with: { text: "$price" } }
            """);

        Assert.Equal(new InputReference("price"), workflow.Node("bound")!.Parameter("text")!.Value);
        Assert.Equal(new LiteralValue("$price"), workflow.Node("escaped")!.Parameter("text")!.Value);
        Assert.Equal(new LiteralValue("$price"), workflow.Node("quoted")!.Parameter("text")!.Value);

        var saved = WorkflowYamlWriter.Write(workflow);
        var back = Read(saved);
        Assert.Equal(new InputReference("price"), back.Node("bound")!.Parameter("text")!.Value);
        Assert.Equal(new LiteralValue("$price"), back.Node("escaped")!.Parameter("text")!.Value);
        Assert.Equal(new LiteralValue("$price"), back.Node("quoted")!.Parameter("text")!.Value);
        Assert.Contains("text: $price\n", saved);
        Assert.Contains("text: $$price\n", saved);
    }

    [Fact]
    public void Saving_twice_gives_the_same_bytes()
    {
        var once = WorkflowYamlWriter.Write(Read(Rich));
        var twice = WorkflowYamlWriter.Write(Read(once));

        Assert.Equal(Encoding.UTF8.GetBytes(once), Encoding.UTF8.GetBytes(twice));
    }

    [Fact]
    public void Saved_keys_come_in_a_fixed_order_whatever_the_input_order()
    {
        var saved = WorkflowYamlWriter.Write(Read("""
            editor:
              viewport: [0, 0, 1]
              positions: { a: [1, 2] }
            nodes:
              a:
                with: { value: 1 }
                title: A
                node: test.number
              b:
                with: { factor: 3 }
                in: { value: a.result }
                node: test.multiply
            name: order
            flowdiffusion: 1
            """));

        Assert.Equal("""
            flowdiffusion: 1
            name: order
            nodes:
              a:
                node: test.number
                title: A
                with:
                  value: 1
              b:
                node: test.multiply
                in:
                  value: a.result
                with:
                  factor: 3
            editor:
              viewport: [0.0, 0.0, 1.0]
              positions:
                a: [1.0, 2.0]

            """.Replace("\r\n", "\n"), saved);
    }

    private static Workflow Read(string yaml)
    {
        var result = WorkflowYamlReader.Read(yaml, "round-trip.yaml");
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        return result.Workflow!;
    }

    private static Workflow Workflow(ParameterValue text) =>
        new("scalars", "", [], [new WorkflowNode("n", "test.text", [], [new NodeParameter("text", text)])]);

    private static object? Literal(Workflow workflow, string node, string parameter) =>
        Assert.IsType<LiteralValue>(workflow.Node(node)!.Parameter(parameter)!.Value).Value;

    // Source locations and list identities differ between two reads of different text; compare what the file says.
    private static string Strip(Workflow workflow)
    {
        var text = new StringBuilder();
        foreach (var input in workflow.Inputs)
            text.AppendLine($"input {input.Name} {input.Type} {Show(input.Default)} {input.Min} {input.Max} [{string.Join("|", input.Choices ?? [])}] {input.Description} {input.Kind}");
        foreach (var node in workflow.Nodes)
        {
            text.AppendLine($"node {node.Id} {node.Type} {node.Title}");
            foreach (var edge in node.Inputs) text.AppendLine($"  in {edge.Port} <- {edge.Source}");
            foreach (var parameter in node.Parameters)
                text.AppendLine($"  with {parameter.Name} = " + (parameter.Value is LiteralValue l ? Show(l.Value) : "$" + ((InputReference)parameter.Value).InputName));
        }
        if (workflow.Editor is { } editor)
        {
            text.AppendLine($"viewport {editor.Viewport}");
            foreach (var (id, position) in editor.Positions) text.AppendLine($"position {id} {position}");
        }
        return text.ToString();
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"string:{s}",
        List<object?> list => "[" + string.Join(",", list.Select(Show)) + "]",
        _ => $"{value.GetType().Name}:{value}",
    };
}
