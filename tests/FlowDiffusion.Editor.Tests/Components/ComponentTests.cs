using Bunit;
using FlowDiffusion.Editor.Components.Canvas;
using FlowDiffusion.Editor.Components.Panels;
using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Editor.Tests.Components;

/// <summary>The editor's components rendered with bUnit against the real Stable Diffusion node catalog.</summary>
public sealed class ComponentTests : BunitContext
{
    private static readonly NodeCatalog Catalog = SdCatalog.Engine.Catalog;
    private readonly EditorFiles _files = new(Options.Create(new FlowDiffusionOptions
    {
        ModelsFolder = Path.Combine(RepositoryRoot.Path, "models"),
        WorkflowsFolder = RepositoryRoot.Workflows,
    }));

    [Fact]
    public void Node_draws_typed_ports_coloured_by_type_with_the_types_each_input_accepts()
    {
        var descriptor = Catalog.Find("guidance.cfg")!;
        var node = Render<NodeView>(p => p
            .Add(v => v.Node, new WorkflowNode("guider", "guidance.cfg", [], []))
            .Add(v => v.Descriptor, descriptor)
            .Add(v => v.Position, new NodePosition(100, 50))
            .Add(v => v.Compatibility, new PortCompatibility(Catalog))
            .Add(v => v.Files, _files));

        var inputs = node.FindAll(".fd-port[data-dir=in]");
        Assert.Equal(descriptor.Inputs.Select(i => i.Name), inputs.Select(e => e.GetAttribute("data-port")));
        var positive = node.Find(".fd-port[data-port=positive]");
        Assert.Equal("--port:" + descriptor.Input("positive")!.Type.Color, positive.GetAttribute("style"));
        Assert.Contains(descriptor.Input("positive")!.Type.Name, positive.GetAttribute("data-accepts")!.Split(' '));
        Assert.DoesNotContain("LATENT", positive.GetAttribute("data-accepts")!.Split(' '));
        Assert.Contains("left:100px;top:50px", node.Find(".fd-node").GetAttribute("style"));
        Assert.Equal($"height:{NodeLayout.RowHeight}px", node.Find(".fd-row").GetAttribute("style"));
    }

    [Fact]
    public void Parameter_bound_to_a_workflow_input_shows_the_input_instead_of_a_widget()
    {
        var node = Render<NodeView>(p => p
            .Add(v => v.Node, new WorkflowNode("guider", "guidance.cfg", [], [new NodeParameter("scale", new InputReference("cfg"))]))
            .Add(v => v.Descriptor, Catalog.Find("guidance.cfg"))
            .Add(v => v.Compatibility, new PortCompatibility(Catalog))
            .Add(v => v.Files, _files));

        Assert.Equal("$cfg", node.Find(".fd-bound").TextContent);
        Assert.Empty(node.FindAll("input[data-param=scale]"));
    }

    [Fact]
    public void Choices_render_as_a_drop_down()
    {
        var widget = RenderValue(new ValueSpec("scheduler", ParameterValueType.String, "euler", null, null, null, ["ddim", "euler"], false, "", ""), "euler", _ => { });

        Assert.Equal(["ddim", "euler"], widget.FindAll("select option").Select(o => o.TextContent));
    }

    [Fact]
    public void Multiline_text_renders_as_a_text_area_and_booleans_as_a_check_box()
    {
        var prompt = RenderValue(new ValueSpec("text", ParameterValueType.String, "", null, null, null, [], true, "", ""), "a cat", _ => { });
        var flag = RenderValue(new ValueSpec("karras", ParameterValueType.Boolean, false, null, null, null, [], false, "", ""), true, _ => { });

        Assert.Equal("a cat", prompt.Find("textarea").GetAttribute("value"));
        Assert.True(flag.Find("input[type=checkbox]").HasAttribute("checked"));
    }

    [Fact]
    public void Number_commits_a_typed_value_inside_its_range_and_ignores_one_outside()
    {
        var committed = new List<object?>();
        var widget = RenderValue(new ValueSpec("steps", ParameterValueType.Integer, 30L, 1, 1000, null, [], false, "", ""), 30L, committed.Add);

        widget.Find("input[type=number]").Change("12");
        widget.Find("input[type=number]").Change("0");

        Assert.Equal([12L], committed);
        Assert.Equal("1", widget.Find("input[type=number]").GetAttribute("min"));
    }

    [Fact]
    public void Seed_offers_a_random_seed()
    {
        var committed = new List<object?>();
        var widget = RenderValue(new ValueSpec("seed", ParameterValueType.Integer, 32L, 0, null, null, [], false, "seed", ""), 32L, committed.Add);

        widget.Find("button.fd-icon").Click();

        Assert.IsType<long>(Assert.Single(committed));
    }

    [Fact]
    public void Model_picker_lists_the_model_folders()
    {
        var widget = RenderValue(new ValueSpec("model", ParameterValueType.String, "models/tiny-sd", null, null, null, [], false, "model", ""), "models/tiny-sd", _ => { });

        var options = widget.FindAll("select option").Select(o => o.GetAttribute("value") ?? "").ToList();
        Assert.Contains(options, o => o.EndsWith("models/analytic-sd", StringComparison.Ordinal));
        Assert.Contains(options, o => o.EndsWith("models/tiny-sd", StringComparison.Ordinal));
    }

    [Fact]
    public void Library_search_narrows_the_node_types()
    {
        var picked = new List<string>();
        var library = Render<NodeLibrary>(p => p.Add(l => l.Catalog, Catalog).Add(l => l.OnPick, (string id) => picked.Add(id)));

        library.Find("input.fd-search").Input("vae dec");
        var types = library.FindAll("button.fd-node-type").Select(b => b.GetAttribute("data-type")).ToList();
        library.Find("button.fd-node-type").Click();

        // vae.load's description names TAESD's decoder files, so it matches too; nothing else does.
        Assert.Equal(["vae.decode", "vae.decode_tiled", "vae.load"], types);
        Assert.Equal(["vae.decode"], picked);
    }

    [Fact]
    public void Clicking_a_problem_selects_its_node()
    {
        string? selected = null;
        var list = Render<ProblemList>(p => p
            .Add(l => l.Diagnostics, [Diagnostic.Error("missing input 'guider'", "sample")])
            .Add(l => l.OnSelect, (string? id) => selected = id));

        list.Find("li.fd-problem").Click();

        Assert.Equal("sample", selected);
        Assert.Contains("missing input 'guider'", list.Find("li.fd-problem").TextContent);
    }

    [Fact]
    public void Inputs_form_shows_each_exposed_input_and_commits_new_defaults()
    {
        var document = new GraphDocument(Catalog, WorkflowYamlReader.ReadFile(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml")).Workflow!);
        var form = Render<InputsForm>(p => p
            .Add(f => f.Document, document)
            .Add(f => f.Files, _files)
            .Add(f => f.OnChange, ((string Name, object? Value) c) => document.SetInputDefault(c.Name, c.Value)));

        form.Find("[data-input=cfg] input").Change("1.5");

        Assert.Equal(document.Workflow.Inputs.Select(i => i.Name), form.FindAll("[data-input]").Select(e => e.GetAttribute("data-input")));
        Assert.Equal(1.5, document.Workflow.Input("cfg")!.Default);
    }

    private IRenderedComponent<ValueEditor> RenderValue(ValueSpec spec, object? value, Action<object?> changed) =>
        Render<ValueEditor>(p => p.Add(v => v.Spec, spec).Add(v => v.Value, value).Add(v => v.Files, _files).Add(v => v.OnChange, changed));
}
