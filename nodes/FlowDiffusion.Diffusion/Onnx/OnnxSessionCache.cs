using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Creates ONNX Runtime sessions from model descriptions (<see cref="OnnxModelSource"/>: file, weight overrides,
/// options) once per description and keeps them within a memory budget, unloading the least recently used idle
/// session first. One instance per host; thread-safe; sessions of different models load in parallel.
/// </summary>
/// <remarks>
/// <para>
/// A session is charged the memory measured around its creation: the growth of the process's resident set while it
/// (and any loads that overlapped it) were created, shared among overlapping loads in proportion to their weight
/// bytes, and never less than its weight bytes (model file, external data and bound overrides). Until its creation
/// finishes it is charged its weight bytes. File size alone undercharges a CPU session by about 2.5× (issue 17).
/// </para>
/// <para>
/// Idle sessions are unloaded, least recently used first, when a session about to be created would exceed the budget,
/// when its measured charge does, on <see cref="Trim"/>, and when the budget is lowered; never when a lease is returned,
/// so a model used step after step stays loaded between its runs even when it alone exceeds the budget. Sessions in use
/// (an open <see cref="OnnxSessionLease"/>) are never unloaded, so the cache may exceed its budget by what is in use at
/// once, and stays there until the next session needs the room.
/// </para>
/// </remarks>
public sealed class OnnxSessionCache : IDisposable
{
    /// <summary>The budget used when none is given: 8 GiB.</summary>
    public const long DefaultBudgetBytes = 8L << 30;

    private readonly object _gate = new();
    private readonly object _measureGate = new();
    private readonly Dictionary<OnnxModelSource, Entry> _entries = [];
    private readonly ConcurrentQueue<OnnxSessionEvent> _loadedEvents = new();
    private readonly Func<long> _residentBytes;

    /// <summary>
    /// The largest model with weight overrides created from memory; a larger one is written with its overrides in
    /// external data first (<see cref="WeightBinding.ModelFolder"/>). Protobuf's 2 GB less room by default; tests lower it.
    /// </summary>
    internal long InlineOverrideLimit { get; set; } = OverriddenModel.MaxBytes;
    private long _budgetBytes;
    private long _chargedBytes;
    private long _clock;
    private bool _disposed;
    private int _disposedSessions;

    // Loads whose creation overlapped: measured together, then shared out (see remarks).
    private int _loadsInFlight;
    private long _windowStartBytes;
    private List<Entry> _window = [];

    /// <summary>Creates an empty cache.</summary>
    /// <param name="budgetBytes">The memory the cached sessions may take together, in bytes.</param>
    /// <param name="optimizedModels">Where optimised models are stored for faster starts; none when null.</param>
    public OnnxSessionCache(long budgetBytes = DefaultBudgetBytes, OptimizedModelStore? optimizedModels = null)
        : this(budgetBytes, optimizedModels, static () => Environment.WorkingSet)
    {
    }

    /// <summary>Creates an empty cache that reads the process's memory through <paramref name="residentBytes"/>.</summary>
    internal OnnxSessionCache(long budgetBytes, OptimizedModelStore? optimizedModels, Func<long> residentBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        _budgetBytes = budgetBytes;
        OptimizedModels = optimizedModels;
        _residentBytes = residentBytes;
    }

    /// <summary>Raised once per created session, after its memory was measured, on a thread that acquired a session.</summary>
    public event EventHandler<OnnxSessionEvent>? Loaded;

    /// <summary>Raised after a session has been disposed to make room or by <see cref="Trim"/>.</summary>
    public event EventHandler<OnnxSessionEvent>? Unloaded;

    /// <summary>Where optimised models are stored, or null.</summary>
    public OptimizedModelStore? OptimizedModels { get; }

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

    /// <summary>The memory charged for the sessions loaded or loading now.</summary>
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
    /// Returns the session for <paramref name="modelPath"/> and <paramref name="options"/> without weight overrides;
    /// see <see cref="Acquire(OnnxModelSource)"/>.
    /// </summary>
    public OnnxSessionLease Acquire(string modelPath, OnnxSessionOptions? options = null) =>
        Acquire(new OnnxModelSource(modelPath, options));

    /// <summary>
    /// Returns the session for <paramref name="source"/>, creating it on first use (binding its weight overrides).
    /// Dispose the lease when done so the session can be unloaded under memory pressure.
    /// </summary>
    /// <param name="source">The model file, overrides and options.</param>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    /// <exception cref="ExecutionProviderNotAvailableException">The requested provider is not installed.</exception>
    /// <exception cref="ArgumentException">A weight override does not fit the graph.</exception>
    /// <exception cref="OnnxModelLoadException">ONNX Runtime refused the model; the message says why in the user's terms.</exception>
    public OnnxSessionLease Acquire(OnnxModelSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Entry? entry;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.TryGetValue(source, out entry))
            {
                entry.Leases++;
                entry.LastUsed = ++_clock;
            }
        }
        entry ??= LeaseNew(source);

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

        var lease = new OnnxSessionLease(session, source, entry.Bytes, () => Release(entry));
        try
        {
            RaiseLoaded();
        }
        catch
        {
            lease.Dispose();
            throw;
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

    /// <summary>
    /// Disposes every idle session now and each session in use when its last lease is returned: a run still inside
    /// ONNX Runtime (a node abandoned after cancellation, a host shutting down mid-run) keeps its session until it ends.
    /// </summary>
    public void Dispose()
    {
        List<Entry> idle;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            // Leased entries (also those still being created) are disposed by Release.
            idle = [.. _entries.Values.Where(e => e.Leases == 0)];
            _entries.Clear();
            _chargedBytes = 0;
        }
        foreach (var entry in idle.Where(e => e.Session.IsValueCreated))
        {
            entry.DisposeSession();
        }
    }

    /// <summary>How many sessions this cache has disposed (unloaded, trimmed or at <see cref="Dispose"/>).</summary>
    internal int DisposedSessions => Volatile.Read(ref _disposedSessions);

    private void RaiseLoaded()
    {
        while (_loadedEvents.TryDequeue(out var loaded))
        {
            Loaded?.Invoke(this, loaded);
        }
    }

    // The miss path: checks and file reads happen outside the lock, so cache hits never wait on the disk.
    private Entry LeaseNew(OnnxModelSource source)
    {
        if (!File.Exists(source.ModelPath))
        {
            throw new FileNotFoundException($"ONNX model file '{source.ModelPath}' does not exist.", source.ModelPath);
        }
        // Fail before charging the budget, so a bad provider never evicts anything.
        ExecutionProviders.Resolve(source.Options.Provider);
        var file = OnnxModelFile.Read(source.ModelPath);

        Entry? entry;
        List<Entry> evicted;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_entries.TryGetValue(source, out entry))
            {
                entry = new Entry(this, source, file);
                _entries.Add(source, entry);
                _chargedBytes += entry.Bytes;
            }
            entry.Leases++;
            entry.LastUsed = ++_clock;
            evicted = CollectEvictions(everyIdle: false);
        }
        Unload(evicted);
        return entry;
    }

    // Returning a lease unloads nothing: a sampling loop returns its UNet (and ControlNets) after every step and takes
    // them again for the next, so unloading here would create a model larger than the budget once per step (an SDXL
    // float32 UNet under the 8 GiB default did). Idle sessions go when a new session needs the room, on Trim, or when
    // the budget is lowered.
    private void Release(Entry entry)
    {
        bool last;
        lock (_gate)
        {
            entry.Leases--;
            entry.LastUsed = ++_clock;
            last = _disposed && entry.Leases == 0;
        }
        if (last && entry.Session.IsValueCreated)
        {
            // The cache was disposed while this lease was out (Dispose left the session to its last lease).
            entry.DisposeSession();
        }
    }

    private void StartMeasuring(Entry entry)
    {
        lock (_measureGate)
        {
            if (_loadsInFlight++ == 0)
            {
                _windowStartBytes = _residentBytes();
                _window = [];
            }
            _window.Add(entry);
        }
    }

    // Called by each load as it ends; the last of a window of overlapping loads shares the measured growth out.
    private void StopMeasuring()
    {
        List<Entry> window;
        long grown;
        lock (_measureGate)
        {
            if (--_loadsInFlight > 0)
            {
                return;
            }
            window = _window;
            grown = _residentBytes() - _windowStartBytes;
        }
        var loaded = window.Where(e => e.Created is not null).ToList();
        var weights = Math.Max(1, loaded.Sum(e => e.WeightsBytes));
        List<Entry> evicted;
        lock (_gate)
        {
            foreach (var entry in loaded)
            {
                var measured = Math.Max(entry.WeightsBytes, (long)(Math.Max(grown, 0) * ((double)entry.WeightsBytes / weights)));
                if (_entries.TryGetValue(entry.Source, out var current) && ReferenceEquals(current, entry))
                {
                    _chargedBytes += measured - entry.Bytes;
                }
                entry.Bytes = measured;
            }
            evicted = CollectEvictions(everyIdle: false);
        }
        foreach (var entry in loaded)
        {
            _loadedEvents.Enqueue(new OnnxSessionEvent(entry.Source.ModelPath, entry.Source.Options, entry.Bytes, entry.Created!.Value, entry.Source, entry.FromOptimizedModel));
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
        if (_entries.TryGetValue(entry.Source, out var current) && ReferenceEquals(current, entry))
        {
            _entries.Remove(entry.Source);
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
            entry.DisposeSession();
            events.Add(new OnnxSessionEvent(entry.Source.ModelPath, entry.Source.Options, entry.Bytes, Stopwatch.GetElapsedTime(started), entry.Source));
        }
        foreach (var unloaded in events)
        {
            Unloaded?.Invoke(this, unloaded);
        }
    }

    private sealed class Entry
    {
        private readonly OnnxSessionCache _cache;
        private readonly OnnxModelFile _file;

        public Entry(OnnxSessionCache cache, OnnxModelSource source, OnnxModelFile file)
        {
            _cache = cache;
            _file = file;
            Source = source;
            // Overrides replace graph weights in place, so the file's bytes stay the weights' size either way; an fp16
            // model run as float32 on the CPU holds twice its float16 weights' bytes.
            Upcasts = Float32Upcast.Applies(source, file);
            WeightsBytes = Upcasts ? Float32Upcast.UpcastWeightsBytes(file) : file.WeightsBytes;
            Bytes = WeightsBytes;
            Session = new Lazy<InferenceSession>(Load, LazyThreadSafetyMode.ExecutionAndPublication);
        }

        public OnnxModelSource Source { get; }

        public long WeightsBytes { get; }

        // Whether the session runs the float32 form of an fp16 model (Float32Upcast).
        public bool Upcasts { get; }

        // Changed under the cache's _gate.
        public long Bytes { get; set; }

        public Lazy<InferenceSession> Session { get; }

        public int Leases { get; set; }

        public long LastUsed { get; set; }

        public TimeSpan? Created { get; private set; }

        public bool FromOptimizedModel { get; private set; }

        public void DisposeSession()
        {
            Session.Value.Dispose();
            Interlocked.Increment(ref _cache._disposedSessions);
        }

        private InferenceSession Load()
        {
            var started = Stopwatch.GetTimestamp();
            _cache.StartMeasuring(this);
            string? pending = null;
            string? upcastFolder = null;
            var store = Source.Overrides.Count == 0 ? _cache.OptimizedModels : null;
            try
            {
                using var options = Source.Options.CreateSessionOptions();
                // An fp16 model on the CPU runs as its float32 form (Float32Upcast), written on first need only: a start
                // from a stored optimised entry (already float32) never writes it.
                OnnxModelFile? upcast = null;
                OnnxModelFile Upcast()
                {
                    if (upcast is null)
                    {
                        upcastFolder = store?.UpcastFolder(Source, _file)
                            ?? Path.Combine(Path.GetTempPath(), "flowdiffusion-upcast-" + Guid.NewGuid().ToString("N"));
                        upcast = OnnxModelFile.Read(Float32Upcast.Write(_file, upcastFolder));
                    }
                    return upcast;
                }
                string ModelToLoad() => Upcasts ? Upcast().Path : Source.ModelPath;

                var path = Source.ModelPath;
                var binding = WeightBinding.Bind(Source, _file, Upcasts && Source.Overrides.Count > 0 ? Upcast() : null, maxInlineBytes: _cache.InlineOverrideLimit);
                if (store is not null)
                {
                    if (store.Find(Source, _file) is { } optimized)
                    {
                        // Already optimised for this runtime, machine and options: loading it as it is skips the work.
                        path = optimized;
                        options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
                        FromOptimizedModel = true;
                    }
                    else
                    {
                        pending = store.Prepare(Source, _file, options);
                    }
                }
                if (!FromOptimizedModel)
                {
                    path = ModelToLoad();
                }
                InferenceSession session;
                try
                {
                    if (binding.ModelBytes is { } overridden)
                    {
                        // Loaded from memory: other weights' external data is still found beside the original file.
                        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", Path.GetDirectoryName(path)!);
                        session = new InferenceSession(overridden, options);
                    }
                    else if (binding.ModelFolder is { } overriddenFolder)
                    {
                        try
                        {
                            session = new InferenceSession(Path.Combine(overriddenFolder, Float32Upcast.ModelName), options);
                        }
                        finally
                        {
                            // The session holds what it needs, as with the upcast folder below.
                            OptimizedModelStore.Abandon(overriddenFolder);
                        }
                    }
                    else
                    {
                        session = new InferenceSession(path, options);
                    }
                }
                catch (OnnxRuntimeException) when (FromOptimizedModel)
                {
                    // A damaged stored model costs one slow start, never a failure: drop it and optimise again.
                    OptimizedModelStore.Abandon(Path.GetDirectoryName(path)!);
                    FromOptimizedModel = false;
                    options.GraphOptimizationLevel = Source.Options.GraphOptimization;
                    pending = store!.Prepare(Source, _file, options);
                    try
                    {
                        session = new InferenceSession(ModelToLoad(), options);
                    }
                    catch (OnnxRuntimeException e)
                    {
                        throw OnnxModelLoadException.Explain(Source, _file, e);
                    }
                }
                catch (OnnxRuntimeException e)
                {
                    throw OnnxModelLoadException.Explain(Source, _file, e);
                }
                if (pending is not null)
                {
                    store!.Commit(Source, _file, pending);
                    pending = null;
                }
                Created = Stopwatch.GetElapsedTime(started);
                return session;
            }
            catch
            {
                if (pending is not null)
                {
                    OptimizedModelStore.Abandon(pending);
                }
                throw;
            }
            finally
            {
                if (upcastFolder is not null)
                {
                    // The session holds what it needs (ONNX Runtime read or mapped the weights while it was created).
                    OptimizedModelStore.Abandon(upcastFolder);
                }
                _cache.StopMeasuring();
            }
        }
    }
}
