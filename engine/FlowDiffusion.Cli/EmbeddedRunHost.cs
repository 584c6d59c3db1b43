using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Cli;

/// <summary>
/// What <c>flowdiffusion run</c> submits to: the embedded run backend the server uses (a SQLite run store, the event
/// bus, the dispatcher executing on this process's engine), with a store of its own for this one invocation, in a
/// private temporary folder deleted afterwards, so two CLI runs never share a database and nothing piles up. Outputs go
/// to the folder the user named (<see cref="SharedFolderOutputStore"/>), and runs may read any path the user gives.
/// </summary>
internal sealed class EmbeddedRunHost : IAsyncDisposable
{
    private readonly DirectoryInfo _data;
    private readonly RunDispatcher _dispatcher;
    private bool _started;

    private EmbeddedRunHost(DirectoryInfo data, EmbeddedRunBackend backend, SharedFolderOutputStore outputs, RunDispatcher dispatcher)
    {
        _data = data;
        Backend = backend;
        Outputs = outputs;
        _dispatcher = dispatcher;
    }

    /// <summary>The backend: the run command uses only its <see cref="IRunBackend"/> verbs.</summary>
    public IRunBackend Backend { get; }

    /// <summary>Where the runs' files go.</summary>
    public SharedFolderOutputStore Outputs { get; }

    /// <summary>Creates the store, bus and dispatcher; nothing executes until <see cref="StartAsync"/>.</summary>
    /// <param name="engine">The engine runs execute on.</param>
    /// <param name="outputFolder">Where output files are written.</param>
    /// <param name="workingFolder">What relative paths in workflows resolve against (the installation's home).</param>
    /// <param name="logger">The dispatcher's log.</param>
    public static EmbeddedRunHost Create(FlowDiffusionEngine engine, string outputFolder, string workingFolder, ILogger<RunDispatcher> logger)
    {
        // Owner-only, fresh: CreateTempSubdirectory makes a new directory with mode 0700, never an existing one.
        var data = Directory.CreateTempSubdirectory("flowdiffusion-run-");
        try
        {
            // One run, one worker, every event kept: a progress display and --events must see the whole stream.
            var options = Options.Create(new ServerOptions { WorkingFolder = workingFolder, MaxConcurrentRuns = 1, EventQueueLength = 1 << 16 });
            var outputs = new SharedFolderOutputStore(outputFolder);
            var backend = new EmbeddedRunBackend(new SqliteRunStore(Path.Combine(data.FullName, "runs.db")), new RunEventBus(options.Value.EventQueueLength), outputs, options);
            // The CLI's user runs their own workflows on their own files: any path they name may be read.
            var dispatcher = new RunDispatcher(backend, engine, options, logger) { AnyInputPath = true };
            return new EmbeddedRunHost(data, backend, outputs, dispatcher);
        }
        catch
        {
            data.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>Starts executing queued runs.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _started = true;
        await _dispatcher.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_started) await _dispatcher.StopAsync(CancellationToken.None);
        }
        finally
        {
            _dispatcher.Dispose();
            try
            {
                _data.Delete(recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover private temp folder is harmless; the run's result stands.
            }
        }
    }
}
