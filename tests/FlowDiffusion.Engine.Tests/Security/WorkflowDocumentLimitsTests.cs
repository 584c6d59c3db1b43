using System.Diagnostics;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Tests.Security;

/// <summary>Hostile workflow documents: nesting that would overflow the YAML parser's recursion or cost it quadratic time.</summary>
public sealed class WorkflowDocumentLimitsTests
{
    private const string Header = "flowdiffusion: 1\nname: deep\nnodes:\n  a: { node: test.number, with: { value: ";

    public static TheoryData<string, string> DeepDocuments => new()
    {
        { "flow sequences, 80 KB", Header + new string('[', 80_000) + new string(']', 80_000) + " } }\n" },
        { "flow sequences, 20,000 deep and unclosed", Header + new string('[', 20_000) },
        { "flow mappings", Header + string.Concat(Enumerable.Repeat("{a: ", 20_000)) },
        { "block sequences on one line", "flowdiffusion: 1\nnodes:\n  a:\n    with:\n      value:\n        " + string.Concat(Enumerable.Repeat("- ", 20_000)) + "x\n" },
        { "block mappings, one per line", "flowdiffusion: 1\nnodes:\n" + string.Concat(Enumerable.Range(0, 1_000).Select(i => new string(' ', i) + "k:\n")) },
        { "flow sequences hidden after an apostrophe in a plain scalar", "flowdiffusion: 1\ndescription: it's\nnodes: " + new string('[', 20_000) },
    };

    [Theory]
    [MemberData(nameof(DeepDocuments))]
    public void Deep_nesting_is_refused_quickly_with_the_limit_named(string kind, string yaml)
    {
        var clock = Stopwatch.StartNew();
        var result = WorkflowYamlReader.Read(yaml, "deep.yaml");
        clock.Stop();

        Assert.Null(result.Workflow);
        var error = Assert.Single(result.Diagnostics);
        Assert.Contains("more than 64 levels", error.Message);
        Assert.NotNull(error.Location);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"{kind}: {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void Brackets_inside_quoted_and_block_scalars_do_not_count_as_nesting()
    {
        var brackets = new string('[', 200);
        var yaml = $$"""
            flowdiffusion: 1
            name: brackets
            description: |
              {{brackets}}
                "{{brackets}}
            nodes:
              a: { node: test.text, with: { text: "{{brackets}}\"{{brackets}}", separator: '{{brackets}}''{{brackets}}' } }
              b: { node: test.text, with: { text: "x" } } # {{brackets}}
            """;

        var result = WorkflowYamlReader.Read(yaml, "brackets.yaml");

        Assert.Empty(result.Diagnostics);
        Assert.Equal(new LiteralValue($"{brackets}\"{brackets}"), result.Workflow!.Nodes.Single(n => n.Id == "a").Parameter("text")!.Value);
    }

    [Fact]
    public void Nesting_at_the_limit_is_read()
    {
        var value = new string('[', 60) + "1" + new string(']', 60);
        var result = WorkflowYamlReader.Read(Header + value + " } }\n", "ok.yaml");

        Assert.DoesNotContain(result.Diagnostics, d => d.Message.Contains("levels deep"));
        Assert.NotNull(result.Workflow);
    }

    [Fact]
    public void Depth_limit_is_configurable()
    {
        var value = new string('[', 10) + new string(']', 10);
        var result = WorkflowYamlReader.Read(Header + value + " } }\n", "small.yaml", new WorkflowLimits { MaxDepth = 8 });

        Assert.Contains("more than 8 levels", Assert.Single(result.Diagnostics).Message);
    }
}
