using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowDiffusion.Engine.Plugins;

/// <summary>
/// Watches plugin roots and calls a reload once files have stopped changing for a quiet period, so a plugin folder
/// that is dropped in, rebuilt or deleted is picked up without a restart. A build writes many files; the quiet
/// period turns them into one reload.
/// </summary>
public sealed class PluginWatcher : IDisposable
{
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Func<PluginSet> _reload;
    private readonly TimeSpan _quietPeriod;
    private readonly ILogger _logger;
    private readonly Timer _timer;
    private readonly Lock _gate = new();
    private readonly Lock _reloading = new();
    private bool _disposed;

    /// <summary>Starts watching.</summary>
    /// <param name="roots">The plugin roots (folders of plugin folders, or plugin folders); missing ones are skipped.</param>
    /// <param name="reload">Reloads the plugins and returns the new set.</param>
    /// <param name="quietPeriod">How long no file may change before a reload runs.</param>
    /// <param name="logger">Where reload failures go.</param>
    public PluginWatcher(IEnumerable<string> roots, Func<PluginSet> reload, TimeSpan quietPeriod, ILogger? logger = null)
    {
        _reload = reload;
        _quietPeriod = quietPeriod;
        _logger = logger ?? NullLogger.Instance;
        _timer = new Timer(_ => Reload(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (var root in roots.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).Where(Directory.Exists))
        {
            var watcher = new FileSystemWatcher(root) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size };
            watcher.Changed += OnChange;
            watcher.Created += OnChange;
            watcher.Deleted += OnChange;
            watcher.Renamed += OnChange;
            watcher.Error += (_, e) => { _logger.LogWarning(e.GetException(), "Plugin watcher lost events under {Root}; reloading", root); OnChange(this, EventArgs.Empty); };
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    /// <summary>Raised after each reload with the new plugin set.</summary>
    public event EventHandler<PluginSet>? Reloaded;

    /// <summary>The folders being watched.</summary>
    public IReadOnlyList<string> Roots => _watchers.Select(w => w.Path).ToList();

    /// <summary>Stops watching; a reload already running is waited for, so none runs after this returns.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var watcher in _watchers) watcher.Dispose();
            _timer.Dispose();
        }
        // A host disposes the engine next; a reload must not be loading into it meanwhile.
        lock (_reloading) { }
    }

    private void OnChange(object? sender, EventArgs e)
    {
        lock (_gate)
        {
            if (!_disposed) _timer.Change(_quietPeriod, Timeout.InfiniteTimeSpan);
        }
    }

    private void Reload()
    {
        lock (_reloading)
        {
            lock (_gate)
            {
                if (_disposed) return;
            }
            try
            {
                var set = _reload();
                Reloaded?.Invoke(this, set);
            }
            catch (Exception e)
            {
                // A watcher thread must never take the host down; the previous plugins stay in force.
                _logger.LogError(e, "Reloading plugins failed");
            }
        }
    }
}
