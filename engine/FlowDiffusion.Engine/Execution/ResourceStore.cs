using System.Collections.Concurrent;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Engine.Execution;

/// <summary>The host's <see cref="IResourceStore"/>: one per plugin, disposing what it holds when the host disposes it.</summary>
public sealed class ResourceStore : IResourceStore, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<object>> _items = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public T GetOrAdd<T>(string key, Func<T> factory) where T : class
    {
        var item = _items.GetOrAdd(key, _ => new Lazy<object>(() => factory(), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
        return item as T ?? throw new InvalidOperationException($"resource '{key}' holds a {item.GetType().Name}, not a {typeof(T).Name}");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var item in _items.Values.Where(i => i.IsValueCreated))
            (item.Value as IDisposable)?.Dispose();
        _items.Clear();
    }
}
