using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Tests.Workflows;

/// <summary>
/// The editor section's seed controls: one list per mode (randomize, increment, decrement), files that only know
/// <c>randomize:</c> read and save as before, and bad entries are errors at their line.
/// </summary>
public sealed class EditorSeedControlsTests
{
    private const string Head = """
        flowdiffusion: 1
        name: seeds
        inputs:
          seed: { type: int, default: 1 }
        nodes:
          a: { node: test.number, with: { value: 1 } }

        """;

    [Fact]
    public void Every_mode_survives_load_save_load_in_file_order()
    {
        var first = Read(Head + """
            editor:
              decrement: [c.seed]
              increment: [seed, a.seed]
              randomize: [b.seed]
              positions: { a: [0, 0] }
            """);

        var saved = WorkflowYamlWriter.Write(first);
        var second = Read(saved);

        Assert.Equal(
            [new("c.seed", SeedControl.Decrement), new("seed", SeedControl.Increment), new("a.seed", SeedControl.Increment), new("b.seed", SeedControl.Randomize)],
            first.Editor!.SeedControls!);
        Assert.Contains("  randomize: [b.seed]\n  increment: [seed, a.seed]\n  decrement: [c.seed]\n", saved);
        Assert.Equal(SeedControl.Increment, second.Editor!.SeedControlOf("a.seed"));
        Assert.Equal(SeedControl.Decrement, second.Editor.SeedControlOf("c.seed"));
        Assert.Equal(SeedControl.Randomize, second.Editor.SeedControlOf("b.seed"));
        Assert.Equal(SeedControl.Fixed, second.Editor.SeedControlOf("d.seed"));
        Assert.Equal(saved, WorkflowYamlWriter.Write(second));
    }

    [Fact]
    public void A_file_that_only_randomizes_reads_as_before_and_saves_byte_for_byte()
    {
        const string old = """
            flowdiffusion: 1
            name: seeds
            inputs:
              seed: {type: int, default: 1}
            nodes:
              a:
                node: test.number
                with:
                  value: 1
            editor:
              viewport: [0.0, 0.0, 1.0]
              randomize: [seed, a.seed]
              positions:
                a: [1.0, 2.0]

            """;

        var workflow = Read(old);

        Assert.Equal([new("seed", SeedControl.Randomize), new("a.seed", SeedControl.Randomize)], workflow.Editor!.SeedControls!);
        Assert.Equal(old.Replace("\r\n", "\n"), WorkflowYamlWriter.Write(workflow));
    }

    [Fact]
    public void All_fixed_writes_no_seed_keys()
    {
        var workflow = Read(Head + "editor:\n  randomize: []\n  positions: { a: [0, 0] }\n");

        var saved = WorkflowYamlWriter.Write(workflow with { Editor = workflow.Editor! with { SeedControls = [new("seed", SeedControl.Fixed)] } });

        Assert.Null(workflow.Editor!.SeedControls);
        Assert.DoesNotContain("randomize", saved);
        Assert.DoesNotContain("increment", saved);
        Assert.DoesNotContain("decrement", saved);
    }

    [Theory]
    [InlineData("  increment: seed", 8, "editor increment must be a list of seed names, e.g. 'increment: [seed, noise.seed]'")]
    [InlineData("  decrement: [seed, 42]", 8, "editor decrement lists seed names (a workflow input, or node.parameter); this entry is not one")]
    [InlineData("  randomize: [seed]\n  increment: [a.seed, seed]", 9, "seed 'seed' is listed under both editor randomize and increment; a seed has one mode, keep it in one list")]
    [InlineData("  increment: [seed, seed]", 8, "seed 'seed' is listed twice under editor increment; list it once")]
    [InlineData("  incremnet: [seed]", 8, "unknown editor key 'incremnet'; the editor section has 'positions', 'viewport', 'randomize', 'increment', 'decrement', 'collapsed', 'advanced', 'pinned', 'colors', 'groups', 'reroutes' and 'routes'")]
    public void Bad_seed_lists_are_errors_at_their_line(string lines, int line, string message)
    {
        var result = WorkflowYamlReader.Read(Head + "editor:\n" + lines + "\n", "seeds.yaml");

        var error = Assert.Single(result.Diagnostics);
        Assert.True(error.IsError);
        Assert.Equal(message, error.Message);
        Assert.Equal(line, error.Location!.Value.Line);
        Assert.StartsWith($"seeds.yaml:{line}:", error.ToString());
    }

    private static Workflow Read(string yaml)
    {
        var result = WorkflowYamlReader.Read(yaml, "seeds.yaml");
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        return result.Workflow!;
    }
}
