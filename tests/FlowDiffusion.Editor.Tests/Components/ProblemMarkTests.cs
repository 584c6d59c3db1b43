using Bunit;
using FlowDiffusion.Editor.Components.Canvas;
using FlowDiffusion.Editor.Components.Panels;
using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Editor.Tests.Components;

/// <summary>Validation problems marked on the offending port or parameter of a node, and named that way in the list.</summary>
public sealed class ProblemMarkTests : BunitContext
{
    private readonly EditorFiles _files = new(Options.Create(new FlowDiffusionOptions { WorkflowsFolder = RepositoryRoot.Workflows }));

    [Fact]
    public void Node_marks_the_port_and_the_parameter_its_problems_are_about_and_nothing_else()
    {
        var catalog = SdCatalog.Engine.Catalog;
        var node = new WorkflowNode("sample", "diffusion.sample", [], [new NodeParameter("strength", new LiteralValue(3.0))]);
        var problems = WorkflowValidator.Validate(new Workflow("w", "", [], [node]), catalog).Errors.ToList();

        var view = Render<NodeView>(p => p
            .Add(v => v.Node, node)
            .Add(v => v.Descriptor, catalog.Find("diffusion.sample"))
            .Add(v => v.Problems, problems)
            .Add(v => v.Compatibility, new PortCompatibility(catalog))
            .Add(v => v.Files, _files));

        // guider, schedule and noise are required and unconnected; the optional inputs are fine.
        Assert.Equal(["guider", "schedule", "noise"], view.FindAll(".fd-port.fd-port-error").Select(e => e.GetAttribute("data-port")));
        Assert.StartsWith("missing required input 'guider'", view.Find(".fd-port[data-port=guider]").GetAttribute("title"));
        Assert.Equal(["strength"], view.FindAll(".fd-param.fd-param-error").Select(e => e.GetAttribute("data-param-row")));
        Assert.Contains("fd-label-error", view.FindAll(".fd-in-label")[0].ClassName);
        Assert.DoesNotContain("fd-label-error", view.FindAll(".fd-in-label")[3].ClassName);
        Assert.Equal(problems.Count, view.FindAll(".fd-node-problem").Count);
    }

    [Fact]
    public void A_problem_on_a_hidden_advanced_parameter_marks_the_closed_toggle_and_its_row_once_open()
    {
        var catalog = SdCatalog.Engine.Catalog;
        var node = new WorkflowNode("guider", "guidance.cfg", [], [new NodeParameter("apg_eta", new LiteralValue(50.0))]);
        var problems = WorkflowValidator.Validate(new Workflow("w", "", [], [node]), catalog).Errors.ToList();
        Assert.Contains(problems, p => p.Message.Contains("apg_eta", StringComparison.Ordinal));

        IRenderedComponent<NodeView> Draw(bool open) => Render<NodeView>(p => p
            .Add(v => v.Node, node)
            .Add(v => v.Descriptor, catalog.Find("guidance.cfg"))
            .Add(v => v.Problems, problems)
            .Add(v => v.Compatibility, new PortCompatibility(catalog))
            .Add(v => v.Files, _files)
            .Add(v => v.ShowAdvanced, open));
        var view = Draw(false);

        // Closed: the row is hidden, the toggle is marked, counts the out-of-range value as changed and names the problem.
        Assert.Empty(view.FindAll("[data-param-row=apg_eta]"));
        var toggle = view.Find(".fd-advanced-toggle");
        Assert.Contains("fd-advanced-error", toggle.ClassName);
        Assert.Equal("1", toggle.GetAttribute("data-changed"));
        Assert.Contains("apg_eta", toggle.GetAttribute("title"));

        view = Draw(true);
        Assert.DoesNotContain("fd-advanced-error", view.Find(".fd-advanced-toggle").ClassName);
        Assert.Equal(["apg_eta"], view.FindAll(".fd-param.fd-param-error").Select(e => e.GetAttribute("data-param-row")));
    }

    [Fact]
    public void Problem_list_names_node_and_port_and_clicking_selects_the_node()
    {
        var workflow = new Workflow("w", "", [], [new WorkflowNode("sample", "diffusion.sample", [], [])]);
        string? selected = null;
        var list = Render<ProblemList>(p => p
            .Add(l => l.Diagnostics, [Diagnostic.Error("missing required input 'schedule' (SCHEDULE)", "sample")])
            .Add(l => l.Workflow, workflow)
            .Add(l => l.OnSelect, (string? id) => selected = id));

        list.Find("li.fd-problem").Click();

        Assert.Equal("sample.schedule", list.Find("li.fd-problem b").TextContent);
        Assert.Equal("sample", selected);
    }
}
