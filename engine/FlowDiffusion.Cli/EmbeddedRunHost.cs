using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Cli;

/// <summary>
/// What <c>flowdiffusion run</c> submits to: the embedded run backend the server uses (a SQLite run store, the event
/// bus, the dispatcher executing on this process's engine), with a store of its own for this one invocation, in a
/// private temporary folder deleted afterwards (or by a later run, when this one was killed), so two CLI runs never
/// share a database and nothing piles up. Outputs go
/// to the folder the user named (<see cref="SharedFolderOutputStore"/>), and runs may read any path the user gives.
/// </summary>
internal sealed class EmbeddedRunHost : IAsyncDisposable
{
    private const string FolderPrefix = "flowdiffusion-run-";
    private const string InUseFile = "in-use.lock";
    private readonly DirectoryInfo _data;
    private readonly FileStream _inUse;
    private readonly RunDispatcher _dispatcher;
    private bool _started;

    private EmbeddedRunHost(DirectoryInfo data, FileStream inUse, EmbeddedRunBackend backend, SharedFolderOutputStore outputs, RunDispatcher dispatcher)
    {
        _data = data;
        _inUse = inUse;
        // A terminate signal ends the process without disposing: the folder goes then too (kill -9 leaves it to the next run).
        AppDomain.CurrentDomain.ProcessExit += RemoveData;
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
        RemoveAbandoned();
        // Owner-only, fresh: CreateTempSubdirectory makes a new directory with mode 0700, never an existing one.
        var data = Directory.CreateTempSubdirectory(FolderPrefix);
        FileStream? inUse = null;
        try
        {
            // Held while this process lives (the OS drops it however the process ends), so a later run can tell a folder
            // left by a killed CLI from one in use.
            inUse = new FileStream(Path.Combine(data.FullName, InUseFile), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
            // One run, one worker, every event kept: a progress display and --events must see the whole stream.
            var options = Options.Create(new ServerOptions { WorkingFolder = workingFolder, MaxConcurrentRuns = 1, EventQueueLength = 1 << 16 });
            var outputs = new SharedFolderOutputStore(outputFolder);
            var backend = new EmbeddedRunBackend(new SqliteRunStore(Path.Combine(data.FullName, "runs.db")), new RunEventBus(options.Value.EventQueueLength), outputs, options);
            // The CLI's user runs their own workflows on their own files: any path they name may be read.
            var dispatcher = new RunDispatcher(backend, engine, options, logger) { AnyInputPath = true };
            return new EmbeddedRunHost(data, inUse, backend, outputs, dispatcher);
        }
        catch
        {
            inUse?.Dispose();
            data.Delete(recursive: true);
            throw;
        }
    }

    // Folders of CLI runs that were killed (kill -9, a closed terminal) before they could delete theirs: untouched for a
    // minute (a folder being set up has no lock yet) and with a lock that nobody holds.
    private static void RemoveAbandoned()
    {
        try
        {
            foreach (var folder in new DirectoryInfo(Path.GetTempPath()).EnumerateDirectories(FolderPrefix + "*"))
            {
                if (folder.LinkTarget is not null || DateTime.UtcNow - folder.LastWriteTimeUtc < TimeSpan.FromMinutes(1)) continue;
                try
                {
                    using (new FileStream(Path.Combine(folder.FullName, InUseFile), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                    {
                    }
                    folder.Delete(recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // In use by a running CLI, someone else's, or already gone: leave it.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable temp folder only means nothing is tidied this time.
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
            await _inUse.DisposeAsync();
            AppDomain.CurrentDomain.ProcessExit -= RemoveData;
            RemoveData(null, EventArgs.Empty);
        }
    }

    private void RemoveData(object? sender, EventArgs e)
    {
        try
        {
            _data.Delete(recursive: true);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            // A leftover private temp folder is harmless (the next run removes it); the run's result stands.
        }
    }
}
