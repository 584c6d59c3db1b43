using FlowDiffusion.Editor.Running;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>The history panel's one-line summary of a run's inputs.</summary>
public sealed class HistoryInputsTests
{
    [Fact]
    public void Inputs_are_listed_in_order_with_long_text_cut()
    {
        var prompt = new string('a', 60);
        var line = HistoryInputs.Summary($$"""{"seed":32,"cfg":7.5,"karras":false,"prompt":"{{prompt}}","model":null}""");

        Assert.Equal($"seed 32 · cfg 7.5 · karras false · prompt \"{new string('a', HistoryInputs.MaxText - 1)}…\" · model null", line);
    }

    [Fact]
    public void A_run_used_its_workflows_defaults_unless_given_a_value()
    {
        const string yaml = """
            flowdiffusion: 1
            name: t
            inputs:
              seed: { type: int, default: 32 }
              prompt: { type: string, default: a red ball }
              cfg: { type: float, default: 7.5 }
            nodes: {}
            """;

        Assert.Equal("""{"seed":32,"prompt":"a red ball","cfg":7.5}""", HistoryInputs.Effective(yaml, "{}"));
        Assert.Equal("""{"seed":9,"prompt":"a red ball","cfg":7.5}""", HistoryInputs.Effective(yaml, """{"seed":9}"""));
        Assert.Equal("seed 9 · prompt \"a red ball\" · cfg 7.5", HistoryInputs.Summary(HistoryInputs.Effective(yaml, """{"seed":9}""")));
        Assert.Null(HistoryInputs.Effective("not: [yaml", null));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("[1,2]")]
    [InlineData("{not json")]
    public void Nothing_to_show_gives_an_empty_line(string? json) => Assert.Equal("", HistoryInputs.Summary(json));
}
