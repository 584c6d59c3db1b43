namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// Node outputs by cache key (type, version, parameters, upstream keys), least recently used evicted first, bounded by
/// entry count and by the bytes the outputs hold (an entry larger than the byte bound is not kept).
/// Shared by runs; thread-safe. A failed run only ever adds complete entries, so the cache stays valid.
/// </summary>
public sealed class OutputCache(int capacity = 256, long maxBytes = long.MaxValue)
{
    private readonly Dictionary<string, LinkedListNode<(string Key, IReadOnlyDictionary<string, object?> Outputs, long Bytes)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, IReadOnlyDictionary<string, object?> Outputs, long Bytes)> _recency = new();
    private readonly Lock _lock = new();
    private long _bytes;

    /// <summary>The most entries kept.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>The most bytes of outputs kept.</summary>
    public long MaxBytes { get; } = maxBytes;

    /// <summary>The bytes the kept outputs hold (estimated from their tensors).</summary>
    public long Bytes
    {
        get { lock (_lock) return _bytes; }
    }

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
        var bytes = outputs.Values.Sum(v => OutputSize.Of(v));
        lock (_lock)
        {
            if (_entries.Remove(key, out var existing))
            {
                _recency.Remove(existing);
                _bytes -= existing.Value.Bytes;
            }
            if (bytes > MaxBytes) return;
            _entries[key] = _recency.AddFirst((key, outputs, bytes));
            _bytes += bytes;
            while ((_entries.Count > Capacity || _bytes > MaxBytes) && _recency.Last is { } last)
            {
                _recency.RemoveLast();
                _entries.Remove(last.Value.Key);
                _bytes -= last.Value.Bytes;
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
            _bytes = 0;
        }
    }
}
