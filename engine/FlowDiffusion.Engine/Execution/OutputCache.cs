namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// Node outputs by cache key (type, version, parameters, upstream keys), least recently used evicted first.
/// Shared by runs; thread-safe. A failed run only ever adds complete entries, so the cache stays valid.
/// </summary>
public sealed class OutputCache(int capacity = 256)
{
    private readonly Dictionary<string, LinkedListNode<(string Key, IReadOnlyDictionary<string, object?> Outputs)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, IReadOnlyDictionary<string, object?> Outputs)> _recency = new();
    private readonly Lock _lock = new();

    /// <summary>The most entries kept.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>The number of entries.</summary>
    public int Count
    {
        get { lock (_lock) return _entries.Count; }
    }

    /// <summary>Looks up the outputs stored under <paramref name="key"/>.</summary>
    public bool TryGet(string key, out IReadOnlyDictionary<string, object?> outputs)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                outputs = node.Value.Outputs;
                return true;
            }
        }
        outputs = null!;
        return false;
    }

    /// <summary>Stores outputs under <paramref name="key"/>, evicting the least recently used entry when full.</summary>
    public void Set(string key, IReadOnlyDictionary<string, object?> outputs)
    {
        lock (_lock)
        {
            if (_entries.Remove(key, out var existing)) _recency.Remove(existing);
            _entries[key] = _recency.AddFirst((key, outputs));
            while (_entries.Count > Capacity && _recency.Last is { } last)
            {
                _recency.RemoveLast();
                _entries.Remove(last.Value.Key);
            }
        }
    }

    /// <summary>Drops every entry (after a plugin reload, say).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _entries.Clear();
            _recency.Clear();
        }
    }
}
