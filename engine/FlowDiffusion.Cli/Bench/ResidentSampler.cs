namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// Samples the process's resident set every 50 ms while a bench phase runs and keeps the largest anonymous part
/// (<c>RssAnon</c>: heaps, ONNX Runtime's arena, prepacked weights) and the largest file-backed part (<c>RssFile</c>:
/// mapped files — model weights ONNX Runtime maps rather than reads — and code), so a peak that moves between runs can
/// be told apart: work the process did, or pages of files the kernel kept or dropped; and when, in the process's life,
/// the anonymous part peaked, to set beside the stages' times. Linux only; elsewhere all are null.
/// </summary>
internal sealed class ResidentSampler : IDisposable
{
    private const string Status = "/proc/self/status";
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    private readonly CancellationTokenSource _stop = new();
    private readonly Thread? _thread;
    private readonly DateTime _processStart = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();
    private long _anon;
    private long _file;
    private double _anonAt;

    public ResidentSampler()
    {
        if (!File.Exists(Status)) return;
        Sample();
        _thread = new Thread(Run) { IsBackground = true, Name = "bench resident-set sampler" };
        _thread.Start();
    }

    /// <summary>The largest <c>RssAnon</c> seen, in bytes, or null where the system does not report it.</summary>
    public long? PeakAnonymousBytes => _thread is null ? null : Interlocked.Read(ref _anon);

    /// <summary>Seconds from the process's start to the sample with the largest <c>RssAnon</c>, or null.</summary>
    public double? PeakAnonymousAtSeconds => _thread is null ? null : Volatile.Read(ref _anonAt);

    /// <summary>The largest <c>RssFile</c> seen, in bytes, or null where the system does not report it.</summary>
    public long? PeakFileBytes => _thread is null ? null : Interlocked.Read(ref _file);

    public void Dispose()
    {
        if (_thread is not null)
        {
            _stop.Cancel();
            _thread.Join();
            Sample();
        }
        _stop.Dispose();
    }

    private void Run()
    {
        while (!_stop.Token.WaitHandle.WaitOne(Interval)) Sample();
    }

    private void Sample()
    {
        foreach (var line in File.ReadLines(Status))
        {
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal) && Raise(ref _anon, PeakMemory.StatusBytes(line)))
            {
                Volatile.Write(ref _anonAt, (DateTime.UtcNow - _processStart).TotalSeconds);
            }
            else if (line.StartsWith("RssFile:", StringComparison.Ordinal)) Raise(ref _file, PeakMemory.StatusBytes(line));
        }
    }

    // Only the sampler thread writes, so a read and a write suffice; true when the value rose.
    private static bool Raise(ref long peak, long value)
    {
        if (value <= Interlocked.Read(ref peak)) return false;
        Interlocked.Exchange(ref peak, value);
        return true;
    }
}
