using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// Overall progress of one run from its event stream: each node weighs its step count once it reports one (a
/// 30-step sampler outweighs a one-shot decoder), otherwise 1; finished and cached nodes count in full.
/// The ETA extrapolates the elapsed time linearly.
/// </summary>
public sealed class RunProgress
{
    private readonly Dictionary<string, (double Weight, double Fraction)> _nodes = new(StringComparer.Ordinal);
    private DateTimeOffset? _started;

    /// <summary>The fraction of the run's weighted work done, 0 to 1.</summary>
    public double Overall { get; private set; }

    /// <summary>Estimated seconds left, when progress allows an estimate.</summary>
    public double? EtaSeconds { get; private set; }

    /// <summary>Takes one event into account.</summary>
    public void Observe(RunEvent item)
    {
        switch (item)
        {
            case RunStarted e:
                _started = e.Time;
                foreach (var node in e.Nodes) _nodes[node] = (1, 0);
                break;
            case NodeProgressed e:
                var weight = e.Progress.TotalSteps > 0 ? e.Progress.TotalSteps : _nodes.GetValueOrDefault(e.NodeId, (1, 0)).Weight;
                _nodes[e.NodeId] = (weight, Math.Clamp(e.Progress.Fraction, 0, 1));
                break;
            case NodeFinished e:
                _nodes[e.NodeId] = (_nodes.GetValueOrDefault(e.NodeId, (1, 0)).Weight, 1);
                break;
            case NodeCached e:
                _nodes[e.NodeId] = (_nodes.GetValueOrDefault(e.NodeId, (1, 0)).Weight, 1);
                break;
            case RunFinished:
                foreach (var node in _nodes.Keys.ToList()) _nodes[node] = (_nodes[node].Weight, 1);
                break;
            default:
                return;
        }
        var total = _nodes.Values.Sum(n => n.Weight);
        Overall = total > 0 ? Math.Min(1, _nodes.Values.Sum(n => n.Weight * n.Fraction) / total) : 0;
        EtaSeconds = _started is { } start && Overall > 0 ? Math.Max(0, (item.Time - start).TotalSeconds * (1 - Overall) / Overall) : null;
    }
}
