using System.Net;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// Caps open event streams, per client address and in total (<see cref="ServerOptions.MaxEventStreams"/>,
/// <see cref="ServerOptions.MaxEventStreamsPerClient"/>), so many idle listeners cannot hold the server's connections
/// and memory; a stream over either cap is refused with 429.
/// </summary>
public sealed class EventStreamLimiter(IOptions<ServerOptions> options)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _byClient = new(StringComparer.Ordinal);
    private int _total;

    /// <summary>How many streams are open.</summary>
    public int Open
    {
        get
        {
            lock (_gate) return _total;
        }
    }

    /// <summary>Takes a slot for <paramref name="client"/>; null with the reason when a cap is reached. Dispose the slot when the stream ends.</summary>
    public IDisposable? TryEnter(IPAddress? client, out string? refusal)
    {
        var key = client?.ToString() ?? "unknown";
        var limits = options.Value;
        lock (_gate)
        {
            var mine = _byClient.GetValueOrDefault(key);
            if (_total >= limits.MaxEventStreams)
            {
                refusal = $"The server has {_total} event streams open, its limit (FlowDiffusion:Server:MaxEventStreams); retry later.";
                return null;
            }
            if (mine >= limits.MaxEventStreamsPerClient)
            {
                refusal = $"This client has {mine} event streams open, the limit per client (FlowDiffusion:Server:MaxEventStreamsPerClient); close one first.";
                return null;
            }
            _byClient[key] = mine + 1;
            _total++;
        }
        refusal = null;
        return new Slot(this, key);
    }

    private void Leave(string key)
    {
        lock (_gate)
        {
            _total--;
            if (--_byClient[key] == 0) _byClient.Remove(key);
        }
    }

    private sealed class Slot(EventStreamLimiter limiter, string key) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) limiter.Leave(key);
        }
    }
}
