using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Creates ONNX Runtime sessions once per (model file, options) and keeps them within a memory budget, unloading
/// the least recently used idle session first. One instance per host; thread-safe.
/// </summary>
/// <remarks>
/// A session is charged the size of its model file and external data. Sessions in use (an open
/// <see cref="OnnxSessionLease"/>) are never unloaded, so the cache may exceed its budget while everything is
/// leased; it unloads idle sessions as leases are returned.
/// </remarks>
public sealed class OnnxSessionCache : IDisposable
{
    /// <summary>The budget used when none is given: 8 GiB.</summary>
    public const long DefaultBudgetBytes = 8L << 30;

    private readonly object _gate = new();
    private readonly Dictionary<(string Path, OnnxSessionOptions Options), Entry> _entries = [];
    private long _budgetBytes;
    private long _chargedBytes;
    private long _clock;
    private bool _disposed;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="budgetBytes">The memory the cached sessions may take together, in bytes.</param>
    public OnnxSessionCache(long budgetBytes = DefaultBudgetBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        _budgetBytes = budgetBytes;
    }

    /// <summary>Raised once after a session has been created, on a thread that acquired it; the elapsed time is the creation alone.</summary>
    public event EventHandler<OnnxSessionEvent>? Loaded;

    /// <summary>Raised after a session has been disposed to make room or by <see cref="Trim"/>.</summary>
    public event EventHandler<OnnxSessionEvent>? Unloaded;

    /// <summary>The memory the cached sessions may take together; lowering it unloads idle sessions at once.</summary>
    public long BudgetBytes
    {
        get { lock (_gate) { return _budgetBytes; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            List<Entry> evicted;
            lock (_gate)
            {
                _budgetBytes = value;
                evicted = CollectEvictions(everyIdle: false);
            }
            Unload(evicted);
        }
    }

    /// <summary>The estimated memory of the sessions loaded or loading now.</summary>
    public long LoadedBytes
    {
        get { lock (_gate) { return _chargedBytes; } }
    }

    /// <summary>The number of sessions loaded or loading now.</summary>
    public int Count
    {
        get { lock (_gate) { return _entries.Count; } }
    }

    /// <summary>
    /// Returns the session for <paramref name="modelPath"/> and <paramref name="options"/>, creating it on first use.
    /// Dispose the lease when done so the session can be unloaded under memory pressure.
    /// </summary>
    /// <param name="modelPath">The <c>.onnx</c> file; external data is found beside it.</param>
    /// <param name="options">How to create the session; <see cref="OnnxSessionOptions.Cpu"/> when omitted.</param>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    /// <exception cref="ExecutionProviderNotAvailableException">The requested provider is not installed.</exception>
    public OnnxSessionLease Acquire(string modelPath, OnnxSessionOptions? options = null)
    {
        options ??= OnnxSessionOptions.Cpu;
        var path = Path.GetFullPath(modelPath);
        var key = (path, options);
        Entry? entry;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.TryGetValue(key, out entry))
            {
                entry.Leases++;
                entry.LastUsed = ++_clock;
            }
        }
        entry ??= LeaseNew(key);

        InferenceSession session;
        try
        {
            session = entry.Session.Value;
        }
        catch
        {
            lock (_gate)
            {
                entry.Leases--;
                Forget(entry);
            }
            throw;
        }

        var lease = new OnnxSessionLease(session, path, options, entry.Bytes, () => Release(entry));
        if (Interlocked.Exchange(ref entry.PendingLoadedEvent, null) is { } loaded)
        {
            try
            {
                Loaded?.Invoke(this, loaded);
            }
            catch
            {
                lease.Dispose();
                throw;
            }
        }
        return lease;
    }

    /// <summary>Unloads every session not in use now.</summary>
    public void Trim()
    {
        List<Entry> evicted;
        lock (_gate)
        {
            evicted = CollectEvictions(everyIdle: true);
        }
        Unload(evicted);
    }

    /// <summary>Disposes every session, in use or not; leases returned afterwards are ignored.</summary>
    public void Dispose()
    {
        List<Entry> all;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            all = [.. _entries.Values];
            _entries.Clear();
            _chargedBytes = 0;
        }
        foreach (var entry in all.Where(e => e.Session.IsValueCreated))
        {
            entry.Session.Value.Dispose();
        }
    }

    // The miss path: checks and file sizes happen outside the lock, so cache hits never wait on the disk.
    private Entry LeaseNew((string Path, OnnxSessionOptions Options) key)
    {
        if (!File.Exists(key.Path))
        {
            throw new FileNotFoundException($"ONNX model file '{key.Path}' does not exist.", key.Path);
        }
        // Fail before charging the budget, so a bad provider never evicts anything.
        ExecutionProviders.Resolve(key.Options.Provider);
        var bytes = ModelFootprint.Estimate(key.Path);

        Entry? entry;
        List<Entry> evicted;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_entries.TryGetValue(key, out entry))
            {
                entry = new Entry(key.Path, key.Options, bytes);
                _entries.Add(key, entry);
                _chargedBytes += entry.Bytes;
            }
            entry.Leases++;
            entry.LastUsed = ++_clock;
            evicted = CollectEvictions(everyIdle: false);
        }
        Unload(evicted);
        return entry;
    }

    private void Release(Entry entry)
    {
        List<Entry> evicted;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            entry.Leases--;
            entry.LastUsed = ++_clock;
            evicted = CollectEvictions(everyIdle: false);
        }
        Unload(evicted);
    }

    // Called under _gate: removes idle sessions, oldest first, until the charge fits the budget (or all of them).
    private List<Entry> CollectEvictions(bool everyIdle)
    {
        var evicted = new List<Entry>();
        while (everyIdle || _chargedBytes > _budgetBytes)
        {
            Entry? oldest = null;
            foreach (var candidate in _entries.Values)
            {
                if (candidate.Leases == 0 && candidate.Session.IsValueCreated && (oldest is null || candidate.LastUsed < oldest.LastUsed))
                {
                    oldest = candidate;
                }
            }
            if (oldest is null)
            {
                break;
            }
            Forget(oldest);
            evicted.Add(oldest);
        }
        return evicted;
    }

    // Called under _gate.
    private void Forget(Entry entry)
    {
        var key = (entry.Path, entry.Options);
        if (_entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
        {
            _entries.Remove(key);
            _chargedBytes -= entry.Bytes;
        }
    }

    // Disposes first and reports after, so a throwing handler cannot leave a session undisposed.
    private void Unload(List<Entry> evicted)
    {
        var events = new List<OnnxSessionEvent>(evicted.Count);
        foreach (var entry in evicted)
        {
            var started = Stopwatch.GetTimestamp();
            entry.Session.Value.Dispose();
            events.Add(new OnnxSessionEvent(entry.Path, entry.Options, entry.Bytes, Stopwatch.GetElapsedTime(started)));
        }
        foreach (var unloaded in events)
        {
            Unloaded?.Invoke(this, unloaded);
        }
    }

    private sealed class Entry
    {
        // Set by the loading thread; the first acquirer to take it raises Loaded outside every lock.
        public OnnxSessionEvent? PendingLoadedEvent;

        public Entry(string path, OnnxSessionOptions options, long bytes)
        {
            Path = path;
            Options = options;
            Bytes = bytes;
            Session = new Lazy<InferenceSession>(Load, LazyThreadSafetyMode.ExecutionAndPublication);
        }

        public string Path { get; }
        public OnnxSessionOptions Options { get; }
        public long Bytes { get; }
        public Lazy<InferenceSession> Session { get; }
        public int Leases { get; set; }
        public long LastUsed { get; set; }

        private InferenceSession Load()
        {
            var started = Stopwatch.GetTimestamp();
            using var sessionOptions = Options.CreateSessionOptions();
            var session = new InferenceSession(Path, sessionOptions);
            PendingLoadedEvent = new OnnxSessionEvent(Path, Options, Bytes, Stopwatch.GetElapsedTime(started));
            return session;
        }
    }
}
