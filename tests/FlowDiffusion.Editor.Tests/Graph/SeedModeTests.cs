using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Graph;

/// <summary>Seeds fixed or randomized each run: kept in the file's editor section, re-rolled within range, invisible to the engine.</summary>
public sealed class SeedModeTests
{
    private static GraphDocument Txt2Img() =>
        new(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"))));

    [Fact]
    public void Randomize_is_saved_in_the_editor_section_and_the_engine_still_validates_the_file()
    {
        var document = Txt2Img();

        document.SetRandomized("seed", true);
        var yaml = document.ToYaml();

        Assert.Contains("randomize: [seed]", yaml);
        var read = WorkflowYamlReader.Read(yaml, "txt2img.yaml");
        Assert.Empty(read.Diagnostics);
        Assert.Equal(["seed"], read.Workflow!.Editor!.Randomize);
        Assert.NotNull(WorkflowValidator.Validate(read.Workflow, SdCatalog.Engine.Catalog).Plan);
        Assert.True(new GraphDocument(SdCatalog.Engine.Catalog, read.Workflow).IsRandomized("seed"));
    }

    [Fact]
    public void Fixed_seeds_write_no_randomize_key_and_a_reroll_changes_nothing()
    {
        var document = Txt2Img();
        document.SetRandomized("seed", true);
        document.SetRandomized("seed", false);
        var revision = document.Revision;

        var rolled = document.RerollSeeds(new Random(1));

        Assert.Empty(rolled);
        Assert.Equal(revision, document.Revision);
        Assert.DoesNotContain("randomize", document.ToYaml());
        Assert.Equal(32L, document.Workflow.Input("seed")!.Default);
    }

    [Fact]
    public void Reroll_gives_a_randomized_input_a_new_default_in_range_as_one_undo_step()
    {
        var document = Txt2Img();
        document.SetRandomized("seed", true);

        var first = document.RerollSeeds(new Random(7))["seed"];
        var second = document.RerollSeeds(new Random(8))["seed"];

        Assert.NotEqual(first, second);
        Assert.InRange(second, 0, uint.MaxValue);
        Assert.Equal(second, document.Workflow.Input("seed")!.Default);
        document.Undo();
        Assert.Equal(first, document.Workflow.Input("seed")!.Default);
    }

    [Fact]
    public void Reroll_sets_a_randomized_node_parameter_and_skips_one_bound_to_an_input()
    {
        var document = GraphDocument.Empty(SdCatalog.Engine.Catalog);
        var noise = document.AddNode("latent.noise", new(0, 0));
        var bound = document.AddNode("latent.noise", new(0, 300));
        document.SetParameter(bound, "seed", new InputReference("seed"));
        document.SetRandomized($"{noise}.seed", true);
        document.SetRandomized($"{bound}.seed", true);

        var rolled = document.RerollSeeds(new Random(3));

        Assert.Equal([$"{noise}.seed"], rolled.Keys);
        Assert.Equal(new LiteralValue(rolled[$"{noise}.seed"]), document.Workflow.Node(noise)!.Parameter("seed")!.Value);
        Assert.Equal(new InputReference("seed"), document.Workflow.Node(bound)!.Parameter("seed")!.Value);
    }

    [Fact]
    public void Removing_a_node_forgets_its_randomized_seeds()
    {
        var document = GraphDocument.Empty(SdCatalog.Engine.Catalog);
        var noise = document.AddNode("latent.noise", new(0, 0));
        document.SetRandomized($"{noise}.seed", true);

        document.RemoveNodes([noise]);

        Assert.Empty(document.Workflow.Editor!.Randomize!);
    }

    [Fact]
    public void Seed_roll_stays_inside_declared_bounds()
    {
        var random = new Random(5);
        var seeds = Enumerable.Range(0, 200).Select(_ => SeedRoll.Next(random, 10, 12)).ToHashSet();

        Assert.Equal([10L, 11L, 12L], seeds.Order());
    }
}
