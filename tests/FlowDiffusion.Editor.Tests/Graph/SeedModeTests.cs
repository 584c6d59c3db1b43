using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Graph;

/// <summary>
/// Seed controls (fixed, increment, decrement, randomize): kept in the file's editor section, applied around each run
/// within the seed's range, never an undo step, kept by copy and paste, invisible to the engine.
/// </summary>
public sealed class SeedModeTests
{
    private static GraphDocument Txt2Img() =>
        new(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"))));

    // A seed input with a small declared range and a latent.noise node whose seed has the default range (0 to 2^32-1).
    private static GraphDocument Ranged(long seed, long noiseSeed) => new(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read($$"""
        flowdiffusion: 1
        name: ranged
        inputs:
          seed: { type: int, default: {{seed}}, min: 10, max: 12 }
        nodes:
          noise: { node: latent.noise, with: { seed: {{noiseSeed}} } }
        """));

    private static long InputSeed(GraphDocument document) => (long)document.Workflow.Input("seed")!.Default!;

    private static object? NodeSeed(GraphDocument document, string node) =>
        Assert.IsType<LiteralValue>(document.Workflow.Node(node)!.Parameter("seed")!.Value).Value;

    // What the editor does per run: randomize before it is queued, step after.
    private static long Run(GraphDocument document, Random random)
    {
        document.RerollSeeds(random);
        var used = InputSeed(document);
        document.StepSeeds();
        return used;
    }

    [Fact]
    public void Randomize_is_saved_in_the_editor_section_and_the_engine_still_validates_the_file()
    {
        var document = Txt2Img();

        document.SetSeedControl("seed", SeedControl.Randomize);
        var yaml = document.ToYaml();

        Assert.Contains("randomize: [seed]", yaml);
        var read = WorkflowYamlReader.Read(yaml, "txt2img.yaml");
        Assert.Empty(read.Diagnostics);
        Assert.Equal([new("seed", SeedControl.Randomize)], read.Workflow!.Editor!.SeedControls!);
        Assert.NotNull(WorkflowValidator.Validate(read.Workflow, SdCatalog.Engine.Catalog).Plan);
        Assert.Equal(SeedControl.Randomize, new GraphDocument(SdCatalog.Engine.Catalog, read.Workflow).SeedControlOf("seed"));
    }

    [Theory]
    [InlineData(SeedControl.Increment, "increment: [seed]")]
    [InlineData(SeedControl.Decrement, "decrement: [seed]")]
    public void Stepping_modes_are_saved_under_their_own_key_and_reopen_the_same(SeedControl control, string line)
    {
        var document = Txt2Img();

        document.SetSeedControl("seed", control);
        var yaml = document.ToYaml();

        Assert.Contains(line, yaml);
        Assert.DoesNotContain("randomize", yaml);
        Assert.Equal(control, new GraphDocument(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read(yaml)).SeedControlOf("seed"));
    }

    [Fact]
    public void Fixed_seeds_write_no_control_keys_and_runs_change_nothing()
    {
        var document = Txt2Img();
        document.SetSeedControl("seed", SeedControl.Increment);
        document.SetSeedControl("seed", SeedControl.Fixed);
        var revision = document.Revision;

        Assert.Empty(document.RerollSeeds(new Random(1)));
        Assert.Empty(document.StepSeeds());

        Assert.Equal(revision, document.Revision);
        Assert.DoesNotContain("randomize", document.ToYaml());
        Assert.DoesNotContain("increment", document.ToYaml());
        Assert.Equal(32L, InputSeed(document));
    }

    [Fact]
    public void Increment_runs_with_the_seed_shown_then_shows_the_next_one()
    {
        var document = Txt2Img();
        document.SetSeedControl("seed", SeedControl.Increment);
        var random = new Random(1);

        var used = Enumerable.Range(0, 4).Select(_ => Run(document, random)).ToList();

        Assert.Equal([32L, 33L, 34L, 35L], used);
        Assert.Equal(36L, InputSeed(document));
    }

    [Fact]
    public void Decrement_runs_with_the_seed_shown_then_shows_the_one_before()
    {
        var document = Txt2Img();
        document.SetSeedControl("seed", SeedControl.Decrement);
        var random = new Random(1);

        var used = Enumerable.Range(0, 3).Select(_ => Run(document, random)).ToList();

        Assert.Equal([32L, 31L, 30L], used);
        Assert.Equal(29L, InputSeed(document));
    }

    [Fact]
    public void Randomize_runs_with_a_new_seed_in_range_each_time_and_shows_the_one_used()
    {
        var document = Ranged(seed: 11, noiseSeed: 5);
        document.SetSeedControl("seed", SeedControl.Randomize);
        document.SetSeedControl("noise.seed", SeedControl.Randomize);
        var random = new Random(3);

        var used = Enumerable.Range(0, 40).Select(_ => Run(document, random)).ToList();

        Assert.Equal([10L, 11L, 12L], used.ToHashSet().Order());
        Assert.Equal(used[^1], InputSeed(document));
        Assert.NotEqual(5L, NodeSeed(document, "noise"));
    }

    [Fact]
    public void Stepping_wraps_around_the_declared_range()
    {
        var up = Ranged(seed: 11, noiseSeed: 0);
        var down = Ranged(seed: 11, noiseSeed: 0);
        up.SetSeedControl("seed", SeedControl.Increment);
        down.SetSeedControl("seed", SeedControl.Decrement);
        var random = new Random(1);

        Assert.Equal([11L, 12L, 10L, 11L], Enumerable.Range(0, 4).Select(_ => Run(up, random)));
        Assert.Equal([11L, 10L, 12L, 11L], Enumerable.Range(0, 4).Select(_ => Run(down, random)));
    }

    [Fact]
    public void A_node_seed_without_a_declared_range_wraps_at_two_to_the_32()
    {
        var up = Ranged(seed: 11, noiseSeed: uint.MaxValue - 1);
        var down = Ranged(seed: 11, noiseSeed: 1);
        up.SetSeedControl("noise.seed", SeedControl.Increment);
        down.SetSeedControl("noise.seed", SeedControl.Decrement);

        var ups = Enumerable.Range(0, 3).Select(_ => up.StepSeeds()["noise.seed"]).ToList();
        var downs = Enumerable.Range(0, 3).Select(_ => down.StepSeeds()["noise.seed"]).ToList();

        Assert.Equal([(long)uint.MaxValue, 0L, 1L], ups);
        Assert.Equal([0L, uint.MaxValue, uint.MaxValue - 1L], downs);
        Assert.Equal(1L, NodeSeed(up, "noise"));
    }

    [Fact]
    public void A_seed_outside_its_range_starts_over_where_the_step_leads()
    {
        var up = Ranged(seed: 50, noiseSeed: 0);
        var down = Ranged(seed: 50, noiseSeed: 0);
        up.SetSeedControl("seed", SeedControl.Increment);
        down.SetSeedControl("seed", SeedControl.Decrement);

        Assert.Equal(10L, up.StepSeeds()["seed"]);
        Assert.Equal(12L, down.StepSeeds()["seed"]);
    }

    [Fact]
    public void An_unset_node_seed_steps_from_its_declared_default()
    {
        var document = GraphDocument.Empty(SdCatalog.Engine.Catalog);
        var noise = document.AddNode("latent.noise", new(0, 0));
        document.SetSeedControl($"{noise}.seed", SeedControl.Increment);

        document.StepSeeds();

        Assert.Equal(33L, NodeSeed(document, noise));
    }

    [Fact]
    public void Runs_are_no_undo_steps_but_leave_the_document_changed()
    {
        var document = Txt2Img();
        document.SetSeedControl("seed", SeedControl.Increment);
        document.SetInputDefault("prompt", "a red ball");
        document.MarkSaved();
        var random = new Random(1);

        for (var i = 0; i < 3; i++) Run(document, random);

        Assert.True(document.IsDirty);
        Assert.Equal(35L, InputSeed(document));
        // One undo takes back the prompt edit, not a run, and keeps the seed the runs reached.
        document.Undo();
        Assert.Equal("a red circle on a blue background", PromptOf(document));
        Assert.Equal(35L, InputSeed(document));
        document.Redo();
        Assert.Equal("a red ball", PromptOf(document));
        Assert.Equal(35L, InputSeed(document));
        document.Undo();
        document.Undo();
        Assert.Equal(SeedControl.Fixed, document.SeedControlOf("seed"));
        Assert.Equal(35L, InputSeed(document));
        Assert.False(document.CanUndo);
    }

    [Fact]
    public void Undo_after_runs_takes_back_a_typed_seed()
    {
        var document = Txt2Img();
        document.SetSeedControl("seed", SeedControl.Increment);
        document.SetInputDefault("seed", 100L);

        Run(document, new Random(1));
        Run(document, new Random(1));
        Assert.Equal(102L, InputSeed(document));
        document.Undo();

        Assert.Equal(32L, InputSeed(document));
        Assert.Equal(SeedControl.Increment, document.SeedControlOf("seed"));
    }

    [Fact]
    public void Rerolls_are_no_undo_steps()
    {
        var document = Txt2Img();
        document.SetSeedControl("seed", SeedControl.Randomize);

        var first = document.RerollSeeds(new Random(7))["seed"];
        var second = document.RerollSeeds(new Random(8))["seed"];
        document.Undo();

        Assert.NotEqual(first, second);
        Assert.Equal(second, InputSeed(document));
        Assert.Equal(SeedControl.Fixed, document.SeedControlOf("seed"));
        Assert.False(document.CanUndo);
    }

    [Fact]
    public void Controls_skip_a_node_seed_bound_to_an_input()
    {
        var document = GraphDocument.Empty(SdCatalog.Engine.Catalog);
        var noise = document.AddNode("latent.noise", new(0, 0));
        var bound = document.AddNode("latent.noise", new(0, 300));
        document.SetParameter(bound, "seed", new InputReference("seed"));
        document.SetSeedControl($"{noise}.seed", SeedControl.Randomize);
        document.SetSeedControl($"{bound}.seed", SeedControl.Increment);

        var rolled = document.RerollSeeds(new Random(3));
        var stepped = document.StepSeeds();

        Assert.Equal([$"{noise}.seed"], rolled.Keys);
        Assert.Empty(stepped);
        Assert.Equal(rolled[$"{noise}.seed"], NodeSeed(document, noise));
        Assert.Equal(new InputReference("seed"), document.Workflow.Node(bound)!.Parameter("seed")!.Value);
    }

    [Fact]
    public void Duplicate_keeps_each_seed_mode_under_the_new_node_id()
    {
        var document = Ranged(seed: 11, noiseSeed: 7);
        var other = document.AddNode("latent.noise", new(0, 300));
        document.SetSeedControl("noise.seed", SeedControl.Increment);
        document.SetSeedControl($"{other}.seed", SeedControl.Decrement);

        var copies = document.Duplicate(["noise", other]);

        Assert.Equal(["noise_3", "noise_4"], copies);
        Assert.Equal(SeedControl.Increment, document.SeedControlOf("noise_3.seed"));
        Assert.Equal(SeedControl.Decrement, document.SeedControlOf("noise_4.seed"));
        Assert.Equal(SeedControl.Increment, document.SeedControlOf("noise.seed"));
        Assert.Equal(SeedControl.Decrement, document.SeedControlOf($"{other}.seed"));
        Assert.Equal(8L, document.StepSeeds()["noise_3.seed"]);
        document.Undo();
        Assert.Equal(SeedControl.Fixed, document.SeedControlOf("noise_3.seed"));
    }

    [Fact]
    public void Paste_into_another_document_keeps_the_seed_mode()
    {
        var source = Ranged(seed: 11, noiseSeed: 7);
        source.SetSeedControl("noise.seed", SeedControl.Randomize);
        var target = Txt2Img();

        var pasted = target.Paste(source.Copy(["noise"]), 0, 0);

        Assert.Equal(["noise_2"], pasted);
        Assert.Equal(SeedControl.Randomize, target.SeedControlOf("noise_2.seed"));
        Assert.Equal(SeedControl.Fixed, target.SeedControlOf("noise.seed"));
        Assert.Equal(SeedControl.Fixed, target.SeedControlOf("seed"));
    }

    [Fact]
    public void Removing_a_node_forgets_its_seed_modes_but_not_an_input_named_like_it()
    {
        var document = new GraphDocument(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read("""
            flowdiffusion: 1
            name: same names
            inputs:
              seed: { type: int, default: 1 }
            nodes:
              seed: { node: latent.noise }
            """));
        document.SetSeedControl("seed.seed", SeedControl.Increment);
        document.SetSeedControl("seed", SeedControl.Randomize);

        document.RemoveNodes(["seed"]);

        Assert.Equal(SeedControl.Fixed, document.SeedControlOf("seed.seed"));
        Assert.Equal(SeedControl.Randomize, document.SeedControlOf("seed"));
    }

    [Fact]
    public void Seed_roll_stays_inside_declared_bounds()
    {
        var random = new Random(5);
        var range = SeedRange.Of(10, 12);
        var seeds = Enumerable.Range(0, 200).Select(_ => range.Roll(random)).ToHashSet();

        Assert.Equal([10L, 11L, 12L], seeds.Order());
    }

    private static string? PromptOf(GraphDocument document) => document.Workflow.Input("prompt")!.Default as string;
}
