using System.Threading.Channels;
using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// The events of one executing run, fanned out to any number of listeners; a listener that joins late first gets
/// every event so far, so the stream it sees is always the whole run.
/// </summary>
public sealed class RunFeed
{
    private readonly object _gate = new();
    private readonly List<RunEvent> _history = [];
    private readonly List<Channel<RunEvent>> _listeners = [];
    private bool _completed;

    /// <summary>Passes an event on to every listener.</summary>
    public void Publish(RunEvent item)
    {
        lock (_gate)
        {
            _history.Add(item);
            foreach (var listener in _listeners) listener.Writer.TryWrite(item);
        }
    }

    /// <summary>Ends every listener's stream.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            foreach (var listener in _listeners) listener.Writer.TryComplete();
            _listeners.Clear();
        }
    }

    /// <summary>The run's events so far, then live ones until the run ends.</summary>
    public ChannelReader<RunEvent> Listen()
    {
        var channel = Channel.CreateUnbounded<RunEvent>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            foreach (var item in _history) channel.Writer.TryWrite(item);
            if (_completed) channel.Writer.TryComplete();
            else _listeners.Add(channel);
        }
        return channel.Reader;
    }
}
