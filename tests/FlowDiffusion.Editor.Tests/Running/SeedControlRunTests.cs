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
/// Seed controls around a queued run: the queued workflow carries the seed shown (randomize rolls it first), and
/// increment and decrement move the shown seed only after the run is queued, with no undo step. The dispatcher is not
/// started, so the run stays queued and its YAML is read back from the store.
/// </summary>
public sealed class SeedControlRunTests : IDisposable
{
    private readonly TempFolder _scratch = new();
    private readonly FlowDiffusionEngine _engine;
    private readonly RunDispatcher _dispatcher;
    private readonly EditorSession _session;

    public SeedControlRunTests()
    {
        var options = Options.Create(new FlowDiffusionOptions
        {
            PluginFolders = [RepositoryRoot.Plugins],
            WorkflowsFolder = RepositoryRoot.Workflows,
            OutputFolder = Path.Combine(_scratch.Path, "outputs"),
            DataFolder = Path.Combine(_scratch.Path, "data"),
        });
        _engine = new FlowDiffusionEngine(options, new ServiceCollection().BuildServiceProvider());
        var store = new SqliteRunStore(Path.Combine(_scratch.Path, "data", "runs.db"));
        _dispatcher = new RunDispatcher(store, _engine, Options.Create(new ServerOptions()), NullLogger<RunDispatcher>.Instance);
        _session = new EditorSession(_engine, new EditorFiles(options), store, _dispatcher);
        Assert.Empty(_session.OpenSaved("txt2img"));
    }

    [Theory]
    [InlineData(SeedControl.Increment, 33L)]
    [InlineData(SeedControl.Decrement, 31L)]
    public async Task The_run_uses_the_seed_shown_then_the_widget_shows_the_next_one(SeedControl control, long next)
    {
        _session.Document.SetSeedControl("seed", control);
        _session.Document.MarkSaved();

        Assert.True(await _session.StartRunAsync(), _session.Notice);

        Assert.Equal(32L, await QueuedSeedAsync());
        Assert.Equal(next, _session.Document.Workflow.Input("seed")!.Default);
        Assert.True(_session.Document.IsDirty);
        _session.Document.Undo();
        Assert.Equal(SeedControl.Fixed, _session.Document.SeedControlOf("seed"));
        Assert.Equal(next, _session.Document.Workflow.Input("seed")!.Default);
    }

    [Fact]
    public async Task A_randomized_run_uses_the_new_seed_that_is_then_shown()
    {
        _session.Document.SetSeedControl("seed", SeedControl.Randomize);

        Assert.True(await _session.StartRunAsync(), _session.Notice);

        var shown = (long)_session.Document.Workflow.Input("seed")!.Default!;
        Assert.Equal(shown, await QueuedSeedAsync());
        Assert.NotEqual(32L, shown);
    }

    public void Dispose()
    {
        _session.Dispose();
        _dispatcher.Dispose();
        _engine.Dispose();
        _scratch.Dispose();
    }

    private async Task<object?> QueuedSeedAsync()
    {
        var run = await _session.Store.GetAsync(_session.Run!.RunId, CancellationToken.None);
        return WorkflowYamlReader.Read(run!.Yaml).Workflow!.Input("seed")!.Default;
    }
}
