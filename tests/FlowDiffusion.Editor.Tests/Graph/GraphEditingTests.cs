using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Graph;

/// <summary>ComfyUI-grade edits on the document: moving and removing links, titles, bypass, exposing parameters, placement.</summary>
public sealed class GraphEditingTests
{
    private static GraphDocument Txt2Img() =>
        new(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"))));

    [Fact]
    public void Link_dragged_off_its_input_onto_nothing_is_removed_in_one_undo_step()
    {
        var document = Txt2Img();

        Assert.True(document.MoveLink("decode", "latent", null, null).Allowed);

        Assert.Null(document.Workflow.Node("decode")!.Edge("latent"));
        document.Undo();
        Assert.Equal("sample.latent", document.Workflow.Node("decode")!.Edge("latent")!.Source);
    }

    [Fact]
    public void Link_moved_onto_another_input_leaves_the_old_one_and_refuses_a_wrong_type()
    {
        var document = Txt2Img();
        var decode2 = document.AddNode("vae.decode", new(1500, 600));

        Assert.True(document.MoveLink("decode", "latent", decode2, "latent").Allowed);
        Assert.Null(document.Workflow.Node("decode")!.Edge("latent"));
        Assert.Equal("sample.latent", document.Workflow.Node(decode2)!.Edge("latent")!.Source);
        document.Undo();
        Assert.Equal("sample.latent", document.Workflow.Node("decode")!.Edge("latent")!.Source);
        Assert.Null(document.Workflow.Node(decode2)!.Edge("latent"));

        var refused = document.MoveLink("decode", "latent", decode2, "vae");
        Assert.False(refused.Allowed);
        Assert.Equal("sample.latent", document.Workflow.Node("decode")!.Edge("latent")!.Source);
    }

    [Fact]
    public void Title_is_saved_and_the_types_own_title_or_empty_clears_it()
    {
        var document = Txt2Img();

        document.SetTitle("positive", "Prompt encoder");
        Assert.Contains("title: Prompt encoder", document.ToYaml());
        document.SetTitle("positive", "  ");
        Assert.Null(document.Workflow.Node("positive")!.Title);
        document.SetTitle("positive", document.Descriptor("positive")!.Title);
        Assert.Null(document.Workflow.Node("positive")!.Title);
    }

    [Fact]
    public void Bypassed_node_is_saved_readably_and_validation_passes_its_input_through()
    {
        var document = Txt2Img();
        // A second decode → bypassed: a VAE decode has no Image input, so bypassing it cannot feed save.images.
        document.SetBypass(["decode"], true);

        Assert.Contains("bypass: true", document.ToYaml());
        var problems = WorkflowValidator.Validate(document.Workflow, document.Catalog);
        Assert.Contains(problems.Errors, e => e.NodeId == "decode" && e.Message.Contains("bypassed", StringComparison.Ordinal));

        document.Undo();
        Assert.False(document.Workflow.Node("decode")!.Bypass);
        Assert.True(WorkflowValidator.Validate(document.Workflow, document.Catalog).IsValid);
    }

    [Fact]
    public void Parameter_exposed_as_an_input_takes_its_value_type_and_bounds_and_inlining_brings_it_back()
    {
        var document = Txt2Img();
        document.SetParameter("save", "prefix", new LiteralValue("mine"));

        var name = document.ExposeParameter("save", "prefix");

        Assert.Equal("prefix", name);
        var input = document.Workflow.Input("prefix")!;
        Assert.Equal("mine", input.Default);
        Assert.Equal(ParameterValueTypeOf("image.save", "prefix"), input.Type);
        Assert.Equal(new InputReference("prefix"), document.Workflow.Node("save")!.Parameter("prefix")!.Value);
        Assert.Contains("prefix: $prefix", document.ToYaml());
        Assert.True(WorkflowValidator.Validate(document.Workflow, document.Catalog).IsValid);

        document.SetInputDefault("prefix", "edited");
        document.InlineParameter("save", "prefix");
        Assert.Equal(new LiteralValue("edited"), document.Workflow.Node("save")!.Parameter("prefix")!.Value);
        Assert.Null(document.Workflow.Input("prefix"));
    }

    [Fact]
    public void Input_description_and_range_are_edited_as_one_undo_step_and_a_reversed_range_is_refused()
    {
        var document = Txt2Img();
        Assert.Null(document.SetInputSpec("steps", "Sampling steps.", 2, 60));
        var steps = document.Workflow.Input("steps")!;
        Assert.Equal(("Sampling steps.", 2.0, 60.0), (steps.Description, steps.Min!.Value, steps.Max!.Value));
        var saved = WorkflowRoundTripTests.Read(document.ToYaml()).Input("steps")!;
        Assert.Equal(("Sampling steps.", 2.0, 60.0), (saved.Description, saved.Min!.Value, saved.Max!.Value));
        // The new range is the engine's: a default outside it is a validation error naming the input.
        document.SetInputDefault("steps", 80L);
        Assert.Contains(WorkflowValidator.Validate(document.Workflow, document.Catalog).Diagnostics, d => d.IsError && d.Message.Contains("steps", StringComparison.Ordinal));
        document.Undo();
        document.Undo();
        Assert.Equal((1.0, 1000.0, ""), (document.Workflow.Input("steps")!.Min!.Value, document.Workflow.Input("steps")!.Max!.Value, document.Workflow.Input("steps")!.Description));

        var revision = document.Revision;
        Assert.Contains("above the maximum", document.SetInputSpec("steps", "", 50, 10));
        Assert.Contains("only numbers take a range", document.SetInputSpec("prompt", "What to draw.", 0, 5));
        Assert.Equal(revision, document.Revision);
        // Clearing a bound leaves that side open.
        Assert.Null(document.SetInputSpec("steps", "", 1, null));
        Assert.Null(document.Workflow.Input("steps")!.Max);
    }

    [Fact]
    public void New_seeds_roll_every_seed_input_and_node_seed_within_its_range_as_one_edit()
    {
        var document = Txt2Img();
        var noise2 = document.AddNode("latent.noise", new(0, 900));
        document.SetParameter(noise2, "seed", new LiteralValue(5L));
        Assert.Null(document.SetInputSpec("seed", "", 1000, 1010));
        var before = document.ToYaml();

        var rolled = document.NewSeeds(new Random(7));

        // The input and the node's own seed roll; the txt2img noise node is bound to $seed, so it is the input that changes.
        Assert.Equal([noise2 + ".seed", "seed"], rolled.Keys.Order(StringComparer.Ordinal));
        Assert.InRange((long)document.Workflow.Input("seed")!.Default!, 1000, 1010);
        Assert.Equal(rolled["seed"], document.Workflow.Input("seed")!.Default);
        Assert.Equal(new LiteralValue(rolled[noise2 + ".seed"]), document.Workflow.Node(noise2)!.Parameter("seed")!.Value);
        Assert.Equal(new InputReference("seed"), document.Workflow.Node("noise")!.Parameter("seed")!.Value);
        // Other inputs are untouched, and it is one undo step.
        Assert.Equal(30L, document.Workflow.Input("steps")!.Default);
        document.Undo();
        Assert.Equal(before, document.ToYaml());
    }

    [Fact]
    public void Removing_an_input_gives_every_parameter_bound_to_it_its_default_in_one_undo_step()
    {
        var document = Txt2Img();
        var noise2 = document.AddNode("latent.noise", new(0, 900));
        document.SetParameter(noise2, "seed", new InputReference("seed"));
        document.SetInputDefault("seed", 77L);
        var before = document.ToYaml();

        document.RemoveInput("seed");

        Assert.Null(document.Workflow.Input("seed"));
        Assert.Equal(new LiteralValue(77L), document.Workflow.Node("noise")!.Parameter("seed")!.Value);
        Assert.Equal(new LiteralValue(77L), document.Workflow.Node(noise2)!.Parameter("seed")!.Value);
        Assert.DoesNotContain("$seed", document.ToYaml());
        Assert.True(WorkflowValidator.Validate(document.Workflow, document.Catalog).IsValid);
        document.Undo();
        Assert.Equal(before, document.ToYaml());
    }

    [Fact]
    public void Inlining_a_shared_input_keeps_it_for_the_other_parameters_and_a_taken_name_gets_a_suffix()
    {
        var document = Txt2Img();
        var noise2 = document.AddNode("latent.noise", new(0, 900));
        document.SetParameter(noise2, "seed", new InputReference("seed"));

        document.InlineParameter("noise", "seed");

        Assert.Equal(new LiteralValue(32L), document.Workflow.Node("noise")!.Parameter("seed")!.Value);
        Assert.NotNull(document.Workflow.Input("seed"));
        Assert.Equal("seed_2", document.ExposeParameter("noise", "seed"));
    }

    [Fact]
    public void New_nodes_are_placed_clear_of_every_node()
    {
        var document = Txt2Img();
        var at = document.PositionOf("positive");
        var placed = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var spot = document.FreeSpot(at, "clip.encode");
            placed.Add(document.AddNode("clip.encode", spot));
        }

        var boxes = document.Workflow.Nodes.Select(n => (n.Id, At: document.PositionOf(n.Id), H: NodeLayout.EstimatedHeight(document.Descriptor(n.Id)))).ToList();
        foreach (var id in placed)
        {
            var a = boxes.Single(b => b.Id == id);
            foreach (var b in boxes.Where(b => b.Id != id))
                Assert.False(a.At.X < b.At.X + NodeLayout.Width && b.At.X < a.At.X + NodeLayout.Width && a.At.Y < b.At.Y + b.H && b.At.Y < a.At.Y + a.H,
                    $"{id} at {a.At} overlaps {b.Id} at {b.At}");
        }
    }

    private static FlowDiffusion.Engine.Schema.ParameterValueType ParameterValueTypeOf(string type, string parameter) =>
        SdCatalog.Engine.Catalog.Find(type)!.Parameter(parameter)!.ValueType;
}
