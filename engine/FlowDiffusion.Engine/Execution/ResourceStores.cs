using System.Collections.Concurrent;

namespace FlowDiffusion.Engine.Execution;

/// <summary>The resource stores of all plugins, by plugin id.</summary>
public sealed class ResourceStores : IDisposable
{
    private readonly ConcurrentDictionary<string, ResourceStore> _stores = new(StringComparer.Ordinal);

    /// <summary>The store of plugin <paramref name="plugin"/>.</summary>
    public ResourceStore For(string plugin) => _stores.GetOrAdd(plugin, _ => new ResourceStore());

    /// <summary>Disposes one plugin's store (on reload).</summary>
    public void Release(string plugin)
    {
        if (_stores.TryRemove(plugin, out var store)) store.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var store in _stores.Values) store.Dispose();
        _stores.Clear();
    }
}
