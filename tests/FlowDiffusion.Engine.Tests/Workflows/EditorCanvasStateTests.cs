using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Tests.Workflows;

/// <summary>
/// The editor section's canvas state — collapsed, pinned and coloured nodes, nodes showing their advanced parameters, groups, reroute points and the routes of
/// links through them — reads, saves byte-for-byte, and leaves the graph's nodes and edges as written.
/// </summary>
public sealed class EditorCanvasStateTests
{
    private const string Saved = """
        flowdiffusion: 1
        name: canvas
        nodes:
          a:
            node: test.number
            with:
              value: 1
          b:
            node: test.add
            in:
              x: a.value
              y: a.value
        editor:
          viewport: [10.0, 20.0, 0.5]
          collapsed: [a]
          advanced: [b]
          pinned: [b, a]
          colors:
            a: {title: "#322", body: "#533"}
            b: {body: "#335"}
          groups:
          - {title: Numbers, box: [0.0, 0.0, 400.0, 300.5], color: "#3f789e"}
          - {title: 'two: words', box: [1.0, 2.0, 3.0, 4.0]}
          reroutes:
            r1: [300.0, 40.0]
            r2: [350.0, 80.0]
          routes:
            b.x: [r1, r2]
            b.y: [r2]
          positions:
            a: [0.0, 0.0]
            b: [500.0, 0.0]

        """;

    [Fact]
    public void Canvas_state_reads_and_saves_byte_for_byte()
    {
        var text = Saved.Replace("\r\n", "\n");
        var result = WorkflowYamlReader.Read(text, "canvas.yaml");
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        var editor = result.Workflow!.Editor!;

        Assert.Equal(["a"], editor.Collapsed!);
        Assert.True(editor.ShowsAdvanced("b"));
        Assert.False(editor.ShowsAdvanced("a"));
        Assert.True(editor.IsPinned("a"));
        Assert.False(editor.IsCollapsed("b"));
        Assert.Equal(new NodeColor("#322", "#533"), editor.ColorOf("a"));
        Assert.Equal(new NodeColor(null, "#335"), editor.ColorOf("b"));
        Assert.Equal(new EditorGroup("Numbers", 0, 0, 400, 300.5, "#3f789e"), editor.Groups![0]);
        Assert.Equal(new EditorGroup("two: words", 1, 2, 3, 4), editor.Groups[1]);
        Assert.Equal(new NodePosition(350, 80), editor.RerouteAt("r2"));
        Assert.Equal(["r1", "r2"], editor.RouteOf("b", "x"));
        Assert.Empty(editor.RouteOf("a", "x"));
        // Reroutes are drawn only: the edges stay direct from a to b.
        Assert.Equal("a", result.Workflow.Node("b")!.Edge("x")!.SourceNode);
        Assert.Equal(text, WorkflowYamlWriter.Write(result.Workflow));
    }

    [Fact]
    public void A_workflow_without_canvas_state_writes_none_of_its_keys()
    {
        var workflow = new Workflow("plain", "", [], [new WorkflowNode("a", "test.number", [], [])],
            new EditorLayout([new("a", new NodePosition(1, 2))], null, null, [], [], [], [], [], [], []));

        var yaml = WorkflowYamlWriter.Write(workflow);

        foreach (var key in new[] { "collapsed", "advanced", "pinned", "colors", "groups", "reroutes", "routes" }) Assert.DoesNotContain(key + ":", yaml);
    }

    [Theory]
    [InlineData("  collapsed: a", "editor collapsed must be a list of node ids, e.g. 'collapsed: [vae, decode]'")]
    [InlineData("  advanced: a", "editor advanced must be a list of node ids, e.g. 'advanced: [vae, decode]'")]
    [InlineData("  colors:\n    a: red", "editor colors of 'a' must be { title: colour, body: colour }")]
    [InlineData("  groups:\n  - {title: g, box: [1, 2, 3]}", "an editor group must be { title: ..., box: [x, y, width, height], color: ... } (color optional)")]
    [InlineData("  reroutes:\n    r1: [1]", "editor reroute of 'r1' must be [x, y]")]
    [InlineData("  routes:\n    b.x: r1", "editor route of 'b.x' must be a list of reroute ids")]
    public void Bad_canvas_state_is_an_error_naming_the_key(string lines, string message)
    {
        var result = WorkflowYamlReader.Read("flowdiffusion: 1\nname: c\nnodes:\n  a: { node: test.number }\neditor:\n" + lines + "\n", "c.yaml");

        Assert.Contains(result.Diagnostics, d => d.IsError && d.Message == message);
    }
}
