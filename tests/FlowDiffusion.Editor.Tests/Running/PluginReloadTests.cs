using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>
/// An open editor follows a plugin reload: a workflow whose node types come from a pack that was missing is checked
/// against the pack once it is dropped in, with no edit, undo step or unsaved mark. A real engine loads the real test pack.
/// </summary>
public sealed class PluginReloadTests : IAsyncLifetime
{
    private readonly SessionHost _host = new(scratch =>
        ([Directory.CreateDirectory(Path.Combine(scratch, "plugins")).FullName], Path.Combine(scratch, "workflows")));

    private string Plugins => Path.Combine(_host.Scratch.Path, "plugins");

    private EditorSession Session => _host.Session;

    private FlowDiffusionEngine Engine => _host.Engine;

    [Fact]
    public void Reloaded_pack_gives_the_open_document_its_node_types_without_an_edit()
    {
        Assert.Empty(Session.OpenYaml(TestNodesPack.Arithmetic, "arithmetic"));
        var document = Session.Document;
        var opened = document.Workflow.Node("a")!.Parameter("value")!.Value;
        document.SetParameter("a", "value", new LiteralValue(5.0));
        Session.Save("arithmetic");
        var revision = document.Revision;
        Assert.Equal(["a", "b", "sum"], UnknownTypeNodes());
        Assert.Null(Session.Validation.Plan);
        var changes = 0;
        Session.Changed += () => changes++;

        TestNodesPack.DropInto(Plugins, _host.Scratch.Path);
        Engine.ReloadPlugins();

        Assert.Equal(1, changes);
        Assert.True(Session.CatchUpWithPlugins());
        Assert.Same(document, Session.Document);
        Assert.Same(Engine.Catalog, document.Catalog);
        Assert.Equal("a + b.", document.Descriptor("sum")!.Description);
        Assert.Equal(["a", "b"], document.Descriptor("sum")!.Inputs.Select(p => p.Name));
        Assert.Empty(Session.Validation.Diagnostics);
        Assert.NotNull(Session.Validation.Plan);
        Assert.StartsWith("Plugins reloaded: ", Session.Notice);
        Assert.Contains("added: ", Session.Notice);
        Assert.Contains("test.add", Session.Notice);
        Assert.Equal(revision, document.Revision);
        Assert.False(document.IsDirty);
        Assert.True(document.CanUndo);
        Assert.False(document.CanRedo);
        document.Undo();
        Assert.Equal(opened, document.Workflow.Node("a")!.Parameter("value")!.Value);
        Assert.False(Session.CatchUpWithPlugins());
    }

    [Fact]
    public void Removed_pack_marks_its_nodes_unknown_again()
    {
        var pack = TestNodesPack.DropInto(Plugins, _host.Scratch.Path);
        Engine.ReloadPlugins();
        Session.OpenYaml(TestNodesPack.Arithmetic, "arithmetic");
        Assert.Empty(Session.Validation.Diagnostics);

        Directory.Delete(pack, recursive: true);
        Engine.ReloadPlugins();
        Session.CatchUpWithPlugins();

        Assert.Null(Session.Document.Descriptor("sum"));
        Assert.Equal(["a", "b", "sum"], UnknownTypeNodes());
        Assert.Contains("removed: ", Session.Notice);
        Assert.False(Session.Document.IsDirty);
        Assert.False(Session.Document.CanUndo);
    }

    [Fact]
    public void Reload_that_changes_no_node_type_leaves_the_notice_alone()
    {
        Session.OpenYaml(TestNodesPack.Arithmetic, "arithmetic");
        Session.Notice = "Opened arithmetic.";

        Engine.ReloadPlugins();

        Assert.False(Session.CatchUpWithPlugins());
        Assert.Same(Engine.Catalog, Session.Document.Catalog);
        Assert.Equal("Opened arithmetic.", Session.Notice);
    }

    [Fact]
    public void ClosedSession_stops_listening_for_reloads()
    {
        var changes = 0;
        Session.Changed += () => changes++;

        Session.Dispose();
        Engine.ReloadPlugins();

        Assert.Equal(0, changes);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private List<string?> UnknownTypeNodes() =>
        Session.Validation.Errors.Where(d => d.Message.StartsWith("unknown node type", StringComparison.Ordinal)).Select(d => d.NodeId).ToList();
}
