using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>
/// An editor session over a real engine and the embedded run backend (SQLite store, event bus, local outputs, dispatcher),
/// with outputs and data in a scratch folder.
/// The dispatcher is not started: queued runs stay queued until a test calls <c>Dispatcher.StartAsync</c>.
/// </summary>
internal sealed class SessionHost : IAsyncDisposable
{
    /// <summary>The repository's plugins and workflows.</summary>
    public SessionHost()
        : this(scratch => ([RepositoryRoot.Plugins], RepositoryRoot.Workflows))
    {
    }

    /// <summary>Plugin and workflow folders chosen by <paramref name="folders"/>, given the scratch folder; other settings by <paramref name="configure"/>.</summary>
    public SessionHost(Func<string, (List<string> Plugins, string Workflows)> folders, Action<FlowDiffusionOptions>? configure = null)
    {
        var (plugins, workflows) = folders(Scratch.Path);
        var options = Options.Create(new FlowDiffusionOptions
        {
            PluginFolders = plugins,
            WorkflowsFolder = workflows,
            OutputFolder = Path.Combine(Scratch.Path, "outputs"),
            DataFolder = Path.Combine(Scratch.Path, "data"),
        });
        configure?.Invoke(options.Value);
        Engine = new FlowDiffusionEngine(options, new ServiceCollection().BuildServiceProvider());
        Store = new SqliteRunStore(Path.Combine(Scratch.Path, "data", "runs.db"));
        var server = Options.Create(new ServerOptions { WorkingFolder = RepositoryRoot.Path });
        Backend = new EmbeddedRunBackend(Store, new RunEventBus(), new LocalOutputStore(options.Value.OutputFolder), server);
        Dispatcher = new RunDispatcher(Backend, Engine, server, NullLogger<RunDispatcher>.Instance);
        Session = new EditorSession(Engine, new EditorFiles(options), Backend);
    }

    public TempFolder Scratch { get; } = new();

    public FlowDiffusionEngine Engine { get; }

    public IRunStore Store { get; }

    public EmbeddedRunBackend Backend { get; }

    public RunDispatcher Dispatcher { get; }

    public EditorSession Session { get; }

    public async ValueTask DisposeAsync()
    {
        await Dispatcher.StopAsync(CancellationToken.None);
        Session.Dispose();
        Dispatcher.Dispose();
        Engine.Dispose();
        Scratch.Dispose();
    }
}
