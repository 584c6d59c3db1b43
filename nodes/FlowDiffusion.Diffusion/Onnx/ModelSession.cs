using System.Diagnostics;
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

    public ModelSession(OnnxSessionCache cache, string modelPath, OnnxSessionOptions? options, string role)
    {
        _cache = cache;
        Options = options ?? OnnxSessionOptions.Cpu;
        ModelPath = Path.GetFullPath(modelPath);
        using var lease = cache.Acquire(ModelPath, Options);
        Signature = new ModelSignature(ModelPath, role, lease.Session);
    }

    public string ModelPath { get; }

    public OnnxSessionOptions Options { get; }

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

    private void Execute(Action<InferenceSession, RunOptions> run, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var lease = _cache.Acquire(ModelPath, Options);
        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(() => runOptions.Terminate = true);
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
            Interlocked.Add(ref _runTicks, Stopwatch.GetElapsedTime(started).Ticks);
            Interlocked.Increment(ref _runCount);
        }
    }
}
