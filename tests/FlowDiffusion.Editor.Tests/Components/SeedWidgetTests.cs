using Bunit;
using FlowDiffusion.Editor.Components.Canvas;
using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Schema;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Editor.Tests.Components;

/// <summary>The seed widget's fixed / randomize-each-run switch.</summary>
public sealed class SeedWidgetTests : BunitContext
{
    private static readonly ValueSpec Seed = new("seed", ParameterValueType.Integer, 32L, 0, null, null, [], false, "seed", "");
    private readonly EditorFiles _files = new(Options.Create(new FlowDiffusionOptions { WorkflowsFolder = RepositoryRoot.Workflows }));

    [Fact]
    public void Seed_shows_its_mode_and_switching_raises_the_new_one()
    {
        var modes = new List<bool>();
        var widget = Render<ValueEditor>(p => p.Add(v => v.Spec, Seed).Add(v => v.Value, 32L).Add(v => v.Files, _files)
            .Add(v => v.Randomized, true).Add(v => v.OnRandomizedChange, (bool on) => modes.Add(on)));

        Assert.Equal("randomize", widget.Find("select.fd-seed-mode").GetAttribute("value"));
        widget.Find("select.fd-seed-mode").Change("fixed");
        widget.Find("select.fd-seed-mode").Change("randomize");

        Assert.Equal([false, true], modes);
    }

    [Fact]
    public void Numbers_that_are_not_seeds_have_no_mode()
    {
        var widget = Render<ValueEditor>(p => p.Add(v => v.Spec, Seed with { Name = "steps", Kind = "" }).Add(v => v.Value, 30L).Add(v => v.Files, _files));

        Assert.Empty(widget.FindAll("select.fd-seed-mode"));
    }
}
