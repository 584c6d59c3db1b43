using FlowDiffusion.Engine.Plugins;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Engine.Hosting;

/// <summary>
/// Hot reload for long-running hosts: watches the plugin folders from host start to host stop and reloads the
/// engine's plugins once files have been quiet for <see cref="FlowDiffusionOptions.PluginReloadDelaySeconds"/>. The
/// next run validates against the new catalog; runs in flight keep the node types they started with.
/// </summary>
public sealed class PluginHotReload(FlowDiffusionEngine engine, IOptions<FlowDiffusionOptions> options, ILogger<PluginHotReload> logger) : IHostedService, IDisposable
{
    private PluginWatcher? _watcher;
    private PluginSet? _last;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.WatchPlugins)
        {
            logger.LogInformation("Plugin hot reload is off (FlowDiffusion:WatchPlugins); plugin changes need a restart");
            return Task.CompletedTask;
        }
        var delay = TimeSpan.FromSeconds(Math.Max(0, settings.PluginReloadDelaySeconds));
        _last = engine.Plugins;
        _watcher = engine.WatchPlugins(delay);
        _watcher.Reloaded += OnReloaded;
        var missing = settings.PluginFolders.Select(Path.GetFullPath).Where(f => !Directory.Exists(f)).ToList();
        logger.LogInformation("Watching plugin folders {Folders} for changes (reload after {Delay} s of quiet)", string.Join(", ", _watcher.Roots), delay.TotalSeconds);
        if (missing.Count > 0)
            logger.LogInformation("Plugin folders {Folders} do not exist and are not watched; create them before starting the host to drop plugins in", string.Join(", ", missing));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var watcher = Interlocked.Exchange(ref _watcher, null);
        if (watcher is null) return;
        watcher.Reloaded -= OnReloaded;
        watcher.Dispose();
    }

    private void OnReloaded(object? sender, PluginSet set)
    {
        // Files written beside the packs (a build's obj folder) also wake the watcher; only a changed catalog is news.
        var previous = Interlocked.Exchange(ref _last, set);
        var changed = previous is null || !set.Catalog.All.SequenceEqual(previous.Catalog.All) || !set.Errors.SequenceEqual(previous.Errors);
        logger.Log(changed ? LogLevel.Information : LogLevel.Debug, "Plugins reloaded: {Plugins} plugins, {Nodes} node types, {Errors} load errors; new runs use them",
            set.Plugins.Count, set.Catalog.Count, set.Errors.Count);
    }
}
