using Bunit;
using FlowDiffusion.Editor.Components.Canvas;
using FlowDiffusion.Editor.Components.Panels;
using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Editor.Tests.Components;

/// <summary>The seed widget's control: fixed, increment, decrement or randomize, on the canvas and in the inputs panel.</summary>
public sealed class SeedWidgetTests : BunitContext
{
    private static readonly ValueSpec Seed = new("seed", ParameterValueType.Integer, 32L, 0, null, null, [], false, "seed", "");
    private readonly EditorFiles _files = new(Options.Create(new FlowDiffusionOptions { WorkflowsFolder = RepositoryRoot.Workflows }));

    [Fact]
    public void Seed_offers_the_four_modes_shows_its_own_and_switching_raises_the_new_one()
    {
        var modes = new List<SeedControl>();
        var widget = Render<ValueEditor>(p => p.Add(v => v.Spec, Seed).Add(v => v.Value, 32L).Add(v => v.Files, _files)
            .Add(v => v.Control, SeedControl.Increment).Add(v => v.OnControlChange, (SeedControl c) => modes.Add(c)));
        var select = widget.Find("select.fd-seed-mode");

        Assert.Equal(["fixed", "increment", "decrement", "randomize"], select.QuerySelectorAll("option").Select(o => o.GetAttribute("value")));
        Assert.Equal("increment", select.GetAttribute("value"));
        foreach (var mode in new[] { "decrement", "randomize", "fixed", "increment" }) widget.Find("select.fd-seed-mode").Change(mode);

        Assert.Equal([SeedControl.Decrement, SeedControl.Randomize, SeedControl.Fixed, SeedControl.Increment], modes);
    }

    [Theory]
    [InlineData(SeedControl.Fixed, "Fixed: every run uses the seed shown.")]
    [InlineData(SeedControl.Increment, "Increment: each run uses the seed shown; once the run is queued the seed goes up by 1 (after 4294967295 it wraps to 0).")]
    [InlineData(SeedControl.Decrement, "Decrement: each run uses the seed shown; once the run is queued the seed goes down by 1 (below 0 it wraps to 4294967295).")]
    [InlineData(SeedControl.Randomize, "Randomize: before each run a new random seed from 0 to 4294967295 is picked and shown here, so the seed shown is the one the last run used.")]
    public void The_tooltip_says_what_the_chosen_mode_does(SeedControl control, string title)
    {
        var widget = Render<ValueEditor>(p => p.Add(v => v.Spec, Seed).Add(v => v.Value, 32L).Add(v => v.Files, _files).Add(v => v.Control, control));

        Assert.Equal(title, widget.Find("select.fd-seed-mode").GetAttribute("title"));
    }

    [Fact]
    public void The_tooltip_names_the_seeds_declared_range()
    {
        var widget = Render<ValueEditor>(p => p.Add(v => v.Spec, Seed with { Min = 10, Max = 12 }).Add(v => v.Value, 11L).Add(v => v.Files, _files)
            .Add(v => v.Control, SeedControl.Increment));

        Assert.Contains("(after 12 it wraps to 10)", widget.Find("select.fd-seed-mode").GetAttribute("title"));
    }

    [Fact]
    public void Numbers_that_are_not_seeds_have_no_mode()
    {
        var widget = Render<ValueEditor>(p => p.Add(v => v.Spec, Seed with { Name = "steps", Kind = "" }).Add(v => v.Value, 30L).Add(v => v.Files, _files));

        Assert.Empty(widget.FindAll("select.fd-seed-mode"));
    }

    [Fact]
    public void Inputs_panel_shows_the_documents_mode_and_raises_the_switch_for_that_input()
    {
        var document = new GraphDocument(SdCatalog.Engine.Catalog, WorkflowYamlReader.ReadFile(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml")).Workflow!);
        document.SetSeedControl("seed", SeedControl.Decrement);
        var changes = new List<SeedControlChange>();
        var form = Render<InputsForm>(p => p.Add(f => f.Document, document).Add(f => f.Files, _files)
            .Add(f => f.OnSeedModeChanged, (SeedControlChange c) => changes.Add(c)));

        Assert.Equal("decrement", form.Find("[data-input=seed] select.fd-seed-mode").GetAttribute("value"));
        form.Find("[data-input=seed] select.fd-seed-mode").Change("increment");

        Assert.Equal([new SeedControlChange("seed", SeedControl.Increment)], changes);
    }

    [Fact]
    public void Node_seed_shows_its_mode_and_raises_the_switch_under_node_dot_parameter()
    {
        var changes = new List<SeedControlChange>();
        var node = Render<NodeView>(p => p
            .Add(v => v.Node, new WorkflowNode("noise", "latent.noise", [], []))
            .Add(v => v.Descriptor, SdCatalog.Engine.Catalog.Find("latent.noise"))
            .Add(v => v.Compatibility, new PortCompatibility(SdCatalog.Engine.Catalog))
            .Add(v => v.Files, _files)
            .Add(v => v.SeedControls, new Dictionary<string, SeedControl> { ["noise.seed"] = SeedControl.Increment })
            .Add(v => v.OnSeedModeChanged, (SeedControlChange c) => changes.Add(c)));

        Assert.Equal("increment", node.Find("select.fd-seed-mode").GetAttribute("value"));
        node.Find("select.fd-seed-mode").Change("randomize");

        Assert.Equal([new SeedControlChange("noise.seed", SeedControl.Randomize)], changes);
    }
}
