using System.Diagnostics;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Models;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// One model file run through the shared cache: leases the session per run (so idle models can be unloaded),
/// maps cancellation onto ONNX Runtime's terminate flag and adds up the time spent inside <c>Run</c>.
/// </summary>
internal sealed class ModelSession
{
    private readonly OnnxSessionCache _cache;
    private long _runTicks;
    private int _runCount;

    private readonly Lazy<OnnxModelFile> _file;

    public ModelSession(OnnxSessionCache cache, OnnxModelSource source, string role)
    {
        _cache = cache;
        Source = source;
        using var lease = cache.Acquire(source);
        Signature = new ModelSignature(ModelPath, role, lease.Session);
        _file = new Lazy<OnnxModelFile>(() => OnnxModelFile.Read(ModelPath));
    }

    // A derived description: overrides change weights, never inputs or outputs, so the signature carries over and no
    // session is created until the first run.
    private ModelSession(ModelSession original, OnnxModelSource source)
    {
        _cache = original._cache;
        Source = source;
        Signature = original.Signature;
        _file = original._file;
    }

    /// <summary>The graph's structure, read once from the file.</summary>
    public OnnxModelFile File => _file.Value;

    /// <summary>The weights the graph declares.</summary>
    public IReadOnlyList<WeightInfo> Weights => _file.Value.Weights;

    /// <summary>
    /// The same model with <paramref name="overrides"/> applied after this one's; its session is created on first use.
    /// </summary>
    /// <exception cref="ArgumentException">An override names a weight the graph lacks.</exception>
    public ModelSession WithOverrides(IEnumerable<WeightOverride> overrides)
    {
        WeightOverride[] added = [.. overrides];
        foreach (var weightOverride in added)
        {
            if (_file.Value.Initializer(weightOverride.Name) is null)
            {
                throw WeightBinding.MissingWeight(ModelPath, weightOverride.Name, _file.Value);
            }
        }
        return new ModelSession(this, Source.WithOverrides(added));
    }

    /// <summary>
    /// The value weight <paramref name="name"/> has in this model: the graph's own after this source's overrides of it,
    /// as the session would bind it. Reads that one weight (and what its overrides read), not the whole model.
    /// </summary>
    /// <exception cref="ArgumentException">The graph lacks the weight, or an override yields the wrong type or shape.</exception>
    public WeightTensor ReadWeight(string name, CancellationToken cancellationToken) =>
        WeightBinding.Value(ModelPath, _file.Value, name, Source.Overrides.Where(o => string.Equals(o.Name, name, StringComparison.Ordinal)), cancellationToken);

    public OnnxModelSource Source { get; }

    public string ModelPath => Source.ModelPath;

    public OnnxSessionOptions Options => Source.Options;

    public ModelSignature Signature { get; }

    public TimeSpan RunTime => TimeSpan.FromTicks(Interlocked.Read(ref _runTicks));

    public int RunCount => Volatile.Read(ref _runCount);

    /// <summary>Runs with outputs ONNX Runtime allocates; the caller disposes the results.</summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(string[] inputNames, OrtValue[] inputs, string[] outputNames, CancellationToken cancellationToken)
    {
        IDisposableReadOnlyCollection<OrtValue>? results = null;
        Execute((session, runOptions) => results = session.Run(runOptions, inputNames, inputs, outputNames), cancellationToken);
        return results!;
    }

    /// <summary>Runs into preallocated outputs.</summary>
    public void Run(string[] inputNames, OrtValue[] inputs, string[] outputNames, OrtValue[] outputs, CancellationToken cancellationToken) =>
        Execute((session, runOptions) => session.Run(runOptions, inputNames, inputs, outputNames, outputs), cancellationToken);

    /// <summary>
    /// Runs with an I/O binding: <paramref name="prepare"/> binds inputs and outputs for the leased session (which may
    /// differ from the last run's, as the cache can unload and re-create it between runs) and returns the binding. Binding
    /// copies inputs to the device, so that time counts as run time, as the copies inside <c>Run</c> do.
    /// </summary>
    public void RunBound(Func<InferenceSession, OrtIoBinding> prepare, CancellationToken cancellationToken) =>
        Execute((session, runOptions) =>
        {
            var binding = prepare(session);
            binding.SynchronizeBoundInputs();
            session.RunWithBinding(runOptions, binding);
            binding.SynchronizeBoundOutputs();
        }, cancellationToken);

    private void Execute(Action<InferenceSession, RunOptions> run, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var lease = _cache.Acquire(Source);
        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(() => runOptions.Terminate = true);
        var releasesArena = OnnxArenaRelease.IsRequested && Options.IsCpu;
        if (releasesArena)
        {
            runOptions.AddRunConfigEntry(OnnxArenaRelease.RunConfigKey, "cpu:0");
        }
        // Waiting for another CPU run to end is not run time.
        CpuTurns.Turn? turn = CpuRunGate.Applies(Options) ? CpuTurns.Take(cancellationToken) : null;
        var started = Stopwatch.GetTimestamp();
        try
        {
            run(lease.Session, runOptions);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        finally
        {
            turn?.Dispose();
            var elapsed = Stopwatch.GetElapsedTime(started);
            Interlocked.Add(ref _runTicks, elapsed.Ticks);
            Interlocked.Increment(ref _runCount);
            OnnxRunMeter.Add(elapsed, releasesArena);
        }
    }
}
