using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// The right to use a cached session until disposed; the cache never unloads a session while a lease on it is open.
/// </summary>
public sealed class OnnxSessionLease : IDisposable
{
    private readonly Action _release;
    private int _released;

    internal OnnxSessionLease(InferenceSession session, OnnxModelSource source, long bytes, Action release)
    {
        Session = session;
        Source = source;
        EstimatedBytes = bytes;
        _release = release;
    }

    /// <summary>The session; valid until this lease is disposed.</summary>
    public InferenceSession Session { get; }

    /// <summary>The description the session was created from.</summary>
    public OnnxModelSource Source { get; }

    /// <summary>The full path of the model file.</summary>
    public string ModelPath => Source.ModelPath;

    /// <summary>The options the session was created with.</summary>
    public OnnxSessionOptions Options => Source.Options;

    /// <summary>The memory the cache charges for this session (see <see cref="OnnxSessionCache"/>).</summary>
    public long EstimatedBytes { get; }

    /// <summary>Returns the session to the cache, which may now unload it to stay within its budget.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _release();
        }
    }
}
