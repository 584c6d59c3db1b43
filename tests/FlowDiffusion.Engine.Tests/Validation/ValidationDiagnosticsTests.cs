using System.Globalization;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Tests.Validation;

public sealed class ValidationDiagnosticsTests
{
    // Lines 1-6 are the same in every case; the node under test starts on line 7.
    private const string Head = """
        flowdiffusion: 1
        name: bad
        inputs:
          factor: { type: float, default: 3, min: -5, max: 5 }
        nodes:
          a: { node: test.number, with: { value: 2 } }

        """;

    public static TheoryData<string, string, string> Errors => new()
    {
        {
            "unknown node type, with the closest names",
            "  m: { node: test.multiplly, in: { value: a.result } }",
            "bad.yaml:7:3: node 'm': unknown node type 'test.multiplly'; did you mean 'test.multiply'?"
        },
        {
            "unknown input port",
            "  m: { node: test.multiply, in: { valu: a.result, value: a.result } }",
            "bad.yaml:7:41: node 'm': 'test.multiply' has no input port 'valu'; did you mean 'value'?"
        },
        {
            "a parameter wired as an edge",
            "  m: { node: test.multiply, in: { value: a.result, factor: a.result } }",
            "bad.yaml:7:60: node 'm': 'test.multiply' has no input port 'factor'; 'factor' is a parameter, set it under 'with:'"
        },
        {
            "unknown output port",
            "  m: { node: test.multiply, in: { value: a.res } }",
            "bad.yaml:7:42: node 'm': node 'a' (test.number) has no output 'res'; its outputs are: result"
        },
        {
            "edge from an unknown node",
            "  m: { node: test.multiply, in: { value: b.result } }",
            "bad.yaml:7:42: node 'm': input 'value' reads from unknown node 'b'; did you mean 'a'?"
        },
        {
            "type mismatch names both types",
            "  t: { node: test.text, with: { text: hi } }\n  s: { node: test.add, in: { a: t.result, b: a.result } }",
            "bad.yaml:8:33: node 's': type mismatch: input 'a' takes FLOAT but 't.result' gives STRING"
        },
        {
            "missing required input",
            "  s: { node: test.add, in: { a: a.result } }",
            "bad.yaml:7:3: node 's': missing required input 'b' (FLOAT); connect it under 'in:', e.g. 'b: some_node.output'"
        },
        {
            "cycle, with its path",
            "  x: { node: test.add, in: { a: a.result, b: z.sum } }\n  y: { node: test.add, in: { a: x.sum, b: a.result } }\n  z: { node: test.add, in: { a: y.sum, b: a.result } }",
            "bad.yaml:8:3: node 'y': cycle: y -> z -> x -> y; a workflow must be a DAG (loops live inside nodes such as 'sample')"
        },
        {
            "parameter of the wrong type",
            "  m: { node: test.multiply, in: { value: a.result }, with: { factor: big } }",
            "bad.yaml:7:70: node 'm': parameter 'factor': expected a number, got text 'big'"
        },
        {
            "parameter above its maximum",
            "  m: { node: test.multiply, in: { value: a.result }, with: { factor: 1000 } }",
            "bad.yaml:7:70: node 'm': parameter 'factor': 1000 is above the maximum 100"
        },
        {
            "parameter below its minimum",
            "  t: { node: test.text, with: { repeat: 0 } }",
            "bad.yaml:7:41: node 't': parameter 'repeat': 0 is below the minimum 1"
        },
        {
            "integer parameter given a fraction",
            "  t: { node: test.text, with: { repeat: 2.5 } }",
            "bad.yaml:7:41: node 't': parameter 'repeat': expected an integer, got 2.5"
        },
        {
            "parameter not in its choices",
            "  t: { node: test.text, with: { separator: '+' } }",
            "bad.yaml:7:44: node 't': parameter 'separator': '+' is not one of: ' ', '-', ', ' (did you mean ' '?)"
        },
        {
            "enum parameter not in its choices",
            "  m: { node: test.multiply, in: { value: a.result }, with: { rounding: nearest_odd } }",
            "bad.yaml:7:72: node 'm': parameter 'rounding': 'nearest_odd' is not one of: 'none', 'floor', 'nearest_even'"
        },
        {
            "unknown parameter",
            "  m: { node: test.multiply, in: { value: a.result }, with: { factr: 2 } }",
            "bad.yaml:7:69: node 'm': 'test.multiply' has no parameter 'factr'; did you mean 'factor'?"
        },
        {
            "parameter bound to an unknown workflow input",
            "  m: { node: test.multiply, in: { value: a.result }, with: { factor: $factr } }",
            "bad.yaml:7:70: node 'm': parameter 'factor' is bound to unknown workflow input '$factr'; did you mean '$factor'?"
        },
        {
            "parameter bound to a workflow input of another type",
            "  t: { node: test.text, with: { upper: $factor } }",
            "bad.yaml:7:40: node 't': parameter 'upper' takes true or false but workflow input '$factor' is a number"
        },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Each_error_names_file_line_column_node_and_cause(string because, string node, string expected)
    {
        var result = TestPack.Validate(Head + node, file: "bad.yaml");

        Assert.False(result.IsValid, because);
        Assert.Null(result.Plan);
        Assert.Contains(expected, result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Unclosed_flow_mapping_is_reported_as_malformed_yaml_not_thrown()
    {
        var result = TestPack.Validate(Head + "  m: { node: test.multiply, in: { value: a.result }\n  n: x\n", file: "bad.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Equal("bad.yaml:7:51: malformed YAML: the text after this point could not be parsed; look for an unclosed '{', '[' or quote", error.ToString());
    }

    [Fact]
    public void Malformed_yaml_is_reported_with_the_parser_position()
    {
        var result = TestPack.Validate(Head + "  m: { node: test.multiply ]\n", file: "bad.yaml");

        var error = Assert.Single(result.Errors).ToString();
        Assert.StartsWith("bad.yaml:7:", error);
        Assert.Contains(": malformed YAML: ", error);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var result = TestPack.Validate(Head + """
              m: { node: test.multiplly, in: { value: a.result } }
              s: { node: test.add, in: { a: a.result } }
              t: { node: test.text, with: { repeat: 0, separator: '+' } }
              u: { node: test.multiply, in: { value: a.nope } }
            """, file: "bad.yaml");

        Assert.Equal(
        [
            "bad.yaml:10:42: node 'u': node 'a' (test.number) has no output 'nope'; its outputs are: result",
            "bad.yaml:7:3: node 'm': unknown node type 'test.multiplly'; did you mean 'test.multiply'?",
            "bad.yaml:8:3: node 's': missing required input 'b' (FLOAT); connect it under 'in:', e.g. 'b: some_node.output'",
            "bad.yaml:9:41: node 't': parameter 'repeat': 0 is below the minimum 1",
            "bad.yaml:9:55: node 't': parameter 'separator': '+' is not one of: ' ', '-', ', ' (did you mean ' '?)",
        ], result.Errors.Select(e => e.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Unknown_set_input_suggests_the_declared_one()
    {
        var result = TestPack.Validate(Head + "  m: { node: test.multiply, in: { value: a.result }, with: { factor: $factor } }",
            new Dictionary<string, object?> { ["factr"] = "2" }, "bad.yaml");

        Assert.Equal(["bad.yaml: --set factr: the workflow has no input 'factr'; did you mean 'factor'?"], result.Errors.Select(e => e.ToString()));
    }

    [Theory]
    [InlineData("abc", "bad.yaml:4:3: --set factor=abc: 'abc' is not a number; input 'factor' is a number")]
    [InlineData("7", "bad.yaml:4:3: --set factor: 7 is above the maximum 5")]
    [InlineData("-6.5", "bad.yaml:4:3: --set factor: -6.5 is below the minimum -5")]
    public void Ill_typed_or_out_of_range_set_value_is_refused(string text, string expected)
    {
        var result = TestPack.Validate(Head + "  m: { node: test.multiply, in: { value: a.result }, with: { factor: $factor } }",
            new Dictionary<string, object?> { ["factor"] = text }, "bad.yaml");

        Assert.Equal([expected], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Set_value_replaces_the_default_in_the_plan()
    {
        var result = TestPack.Validate(Head + "  m: { node: test.multiply, in: { value: a.result }, with: { factor: $factor } }",
            new Dictionary<string, object?> { ["factor"] = "-1.5" }, "bad.yaml");

        Assert.True(result.IsValid, string.Join("\n", result.Diagnostics));
        Assert.Equal(-1.5, result.Plan!.Inputs["factor"]);
        Assert.Equal(-1.5, result.Plan.Find("m")!.Parameters.Single(p => p.Key.Name == "factor").Value);
    }

    [Fact]
    public void Unused_workflow_input_is_a_warning_not_an_error()
    {
        var result = TestPack.Validate(Head + "  m: { node: test.multiply, in: { value: a.result } }", file: "bad.yaml");

        Assert.True(result.IsValid);
        var warning = Assert.Single(result.Diagnostics);
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Equal("bad.yaml:4:3: warning: workflow input 'factor' is not used by any node", warning.ToString());
    }

    [Fact]
    public void Yaml_alias_bomb_is_refused_before_expansion()
    {
        const string bomb = """
            flowdiffusion: 1
            name: lol
            a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
            b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
            c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
            d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
            e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
            f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
            g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
            h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
            nodes:
              a: { node: test.text, with: { text: *h } }
            """;

        var read = WorkflowYamlReader.Read(bomb, "bomb.yaml");

        Assert.Null(read.Workflow);
        Assert.Equal("bomb.yaml:3:4: YAML anchors (&a) are not allowed in workflows; write the value out", read.Diagnostics[0].ToString());
        Assert.Contains("bomb.yaml:4:8: YAML aliases (*a) are not allowed in workflows; write the value out", read.Diagnostics.Select(d => d.ToString()));
        Assert.All(read.Diagnostics, d => Assert.True(d.IsError));
    }

    [Fact]
    public void Text_over_the_size_limit_is_refused()
    {
        var yaml = Head + "  t: { node: test.text, with: { text: \"" + new string('x', 600) + "\" } }";

        var read = WorkflowYamlReader.Read(yaml, "big.yaml", new WorkflowLimits { MaxBytes = 512 });

        Assert.Null(read.Workflow);
        Assert.Equal($"big.yaml: the workflow is {yaml.Length} bytes; workflows are limited to 512 bytes", Assert.Single(read.Diagnostics).ToString());
    }

    [Fact]
    public void File_over_the_default_size_limit_is_refused_without_being_read()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "huge.yaml");
        File.WriteAllText(path, Head + "# " + new string('x', 1 << 20) + "\n");

        var read = WorkflowYamlReader.ReadFile(path);

        Assert.Null(read.Workflow);
        var size = new FileInfo(path).Length;
        Assert.Equal($"{path}: the file is {size.ToString("N0", CultureInfo.InvariantCulture)} bytes; workflows are limited to {(1 << 20).ToString("N0", CultureInfo.InvariantCulture)} bytes",
            Assert.Single(read.Diagnostics).ToString());
    }
}
