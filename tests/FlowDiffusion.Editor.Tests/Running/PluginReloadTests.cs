using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>
/// An open editor follows a plugin reload: a workflow whose node types come from a pack that was missing is checked
/// against the pack once it is dropped in, with no edit, undo step or unsaved mark. A real engine loads the real test pack.
/// </summary>
public sealed class PluginReloadTests : IDisposable
{
    private const string Arithmetic = """
        flowdiffusion: 1
        name: arithmetic
        nodes:
          a: { node: test.number, with: { value: 2 } }
          b: { node: test.number, with: { value: 3 } }
          sum: { node: test.add, in: { a: a.result, b: b.result } }
        """;

    private readonly TempFolder _scratch = new();
    private readonly string _plugins;
    private readonly FlowDiffusionEngine _engine;
    private readonly RunDispatcher _dispatcher;
    private readonly EditorSession _session;

    public PluginReloadTests()
    {
        _plugins = Directory.CreateDirectory(Path.Combine(_scratch.Path, "plugins")).FullName;
        var options = Options.Create(new FlowDiffusionOptions
        {
            PluginFolders = [_plugins],
            WorkflowsFolder = Path.Combine(_scratch.Path, "workflows"),
            OutputFolder = Path.Combine(_scratch.Path, "outputs"),
            DataFolder = Path.Combine(_scratch.Path, "data"),
        });
        _engine = new FlowDiffusionEngine(options, new ServiceCollection().BuildServiceProvider());
        var store = new SqliteRunStore(Path.Combine(_scratch.Path, "data", "runs.db"));
        _dispatcher = new RunDispatcher(store, _engine, Options.Create(new ServerOptions()), NullLogger<RunDispatcher>.Instance);
        _session = new EditorSession(_engine, new EditorFiles(options), store, _dispatcher);
    }

    [Fact]
    public void Reloaded_pack_gives_the_open_document_its_node_types_without_an_edit()
    {
        Assert.Empty(_session.OpenYaml(Arithmetic, "arithmetic"));
        var document = _session.Document;
        var opened = document.Workflow.Node("a")!.Parameter("value")!.Value;
        document.SetParameter("a", "value", new LiteralValue(5.0));
        _session.Save("arithmetic");
        var revision = document.Revision;
        Assert.Equal(["a", "b", "sum"], UnknownTypeNodes());
        Assert.Null(_session.Validation.Plan);
        var changes = 0;
        _session.Changed += () => changes++;

        TestNodesPack.DropInto(_plugins, _scratch.Path);
        _engine.ReloadPlugins();

        Assert.Equal(1, changes);
        Assert.True(_session.CatchUpWithPlugins());
        Assert.Same(document, _session.Document);
        Assert.Same(_engine.Catalog, document.Catalog);
        Assert.Equal("a + b.", document.Descriptor("sum")!.Description);
        Assert.Equal(["a", "b"], document.Descriptor("sum")!.Inputs.Select(p => p.Name));
        Assert.Empty(_session.Validation.Diagnostics);
        Assert.NotNull(_session.Validation.Plan);
        Assert.StartsWith("Plugins reloaded: ", _session.Notice);
        Assert.Contains("added: ", _session.Notice);
        Assert.Contains("test.add", _session.Notice);
        Assert.Equal(revision, document.Revision);
        Assert.False(document.IsDirty);
        Assert.True(document.CanUndo);
        Assert.False(document.CanRedo);
        document.Undo();
        Assert.Equal(opened, document.Workflow.Node("a")!.Parameter("value")!.Value);
        Assert.False(_session.CatchUpWithPlugins());
    }

    [Fact]
    public void Removed_pack_marks_its_nodes_unknown_again()
    {
        var pack = TestNodesPack.DropInto(_plugins, _scratch.Path);
        _engine.ReloadPlugins();
        _session.OpenYaml(Arithmetic, "arithmetic");
        Assert.Empty(_session.Validation.Diagnostics);

        Directory.Delete(pack, recursive: true);
        _engine.ReloadPlugins();
        _session.CatchUpWithPlugins();

        Assert.Null(_session.Document.Descriptor("sum"));
        Assert.Equal(["a", "b", "sum"], UnknownTypeNodes());
        Assert.Contains("removed: ", _session.Notice);
        Assert.False(_session.Document.IsDirty);
        Assert.False(_session.Document.CanUndo);
    }

    [Fact]
    public void Reload_that_changes_no_node_type_leaves_the_notice_alone()
    {
        _session.OpenYaml(Arithmetic, "arithmetic");
        _session.Notice = "Opened arithmetic.";

        _engine.ReloadPlugins();

        Assert.False(_session.CatchUpWithPlugins());
        Assert.Same(_engine.Catalog, _session.Document.Catalog);
        Assert.Equal("Opened arithmetic.", _session.Notice);
    }

    [Fact]
    public void Closed_session_stops_listening_for_reloads()
    {
        var changes = 0;
        _session.Changed += () => changes++;

        _session.Dispose();
        _engine.ReloadPlugins();

        Assert.Equal(0, changes);
    }

    public void Dispose()
    {
        _session.Dispose();
        _dispatcher.Dispose();
        _engine.Dispose();
        _scratch.Dispose();
    }

    private List<string?> UnknownTypeNodes() =>
        _session.Validation.Errors.Where(d => d.Message.StartsWith("unknown node type", StringComparison.Ordinal)).Select(d => d.NodeId).ToList();
}
