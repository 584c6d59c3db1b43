using System.Collections.Concurrent;
using System.Runtime.Loader;
using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// The resource stores of all plugins, one per plugin and load: a reloaded plugin starts with a fresh store, since
/// what its old build stored is of the old build's types, while runs in flight on the old build keep the old store.
/// </summary>
public sealed class ResourceStores : IDisposable
{
    private readonly ConcurrentDictionary<(string Plugin, AssemblyLoadContext? Load), ResourceStore> _stores = new();

    /// <summary>The store shared by the nodes of <paramref name="node"/>'s plugin, as that plugin is loaded.</summary>
    public ResourceStore For(NodeDescriptor node) => _stores.GetOrAdd(Key(node), _ => new ResourceStore());

    /// <summary>Disposes the stores of the plugin loads <paramref name="nodes"/> belong to (after a reload, once no run uses them).</summary>
    public void Release(IEnumerable<NodeDescriptor> nodes)
    {
        foreach (var key in nodes.Select(Key).Distinct().ToList())
            if (_stores.TryRemove(key, out var store)) store.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var store in _stores.Values) store.Dispose();
        _stores.Clear();
    }

    private static (string, AssemblyLoadContext?) Key(NodeDescriptor node) => (node.Plugin, AssemblyLoadContext.GetLoadContext(node.NodeType.Assembly));
}
