using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// Overall progress of one run from its events, defined so that it never decreases. Each node weighs its step count
/// once it reports one (a 30-step sampler outweighs a one-shot decoder), otherwise 1. Work done moves the overall
/// fraction <c>p</c> towards 1 by the share of the <em>remaining</em> work it completed:
/// <c>p ← p + (1 − p) · done / remaining</c>, where <c>remaining = Σ weight · (1 − fraction)</c> over the nodes
/// before the event. A node that reveals more steps than assumed grows the remaining work, which slows what follows
/// but never takes back what was shown (the old weighted sum fell from 0.75 to 0.196 when a sampler started). The last
/// node's end leaves no remaining work, so a completed run reaches exactly 1. The ETA extrapolates the elapsed time linearly.
/// </summary>
public sealed class RunProgress
{
    private readonly Dictionary<string, (double Weight, double Fraction)> _nodes = new(StringComparer.Ordinal);
    private DateTimeOffset? _started;

    /// <summary>The fraction of the run done, 0 to 1; never decreases.</summary>
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
                foreach (var node in e.Nodes) _nodes.TryAdd(node, (1, 0));
                return;
            case NodeProgressed e:
                var known = _nodes.GetValueOrDefault(e.NodeId, (1, 0));
                // A new step count changes how much is left, not how much is done.
                if (e.Progress.TotalSteps > 0) _nodes[e.NodeId] = known = (e.Progress.TotalSteps, known.Fraction);
                Advance(item, e.NodeId, Math.Clamp(e.Progress.Fraction, 0, 1));
                break;
            case NodeFinished e:
                Advance(item, e.NodeId, 1);
                break;
            case NodeCached e:
                Advance(item, e.NodeId, 1);
                break;
            case RunFinished:
                foreach (var node in _nodes.Keys.ToList()) _nodes[node] = (_nodes[node].Weight, 1);
                Overall = 1;
                EtaSeconds = 0;
                break;
        }
    }

    private void Advance(RunEvent item, string nodeId, double fraction)
    {
        var (weight, before) = _nodes.GetValueOrDefault(nodeId, (1, 0));
        if (fraction <= before)
        {
            _nodes.TryAdd(nodeId, (weight, before));
            return;
        }
        var remaining = _nodes.Values.Sum(n => n.Weight * (1 - n.Fraction));
        if (!_nodes.ContainsKey(nodeId)) remaining += weight * (1 - before);
        _nodes[nodeId] = (weight, fraction);
        var done = weight * (fraction - before);
        Overall = remaining <= done ? 1 : Math.Min(1, Overall + (1 - Overall) * done / remaining);
        EtaSeconds = _started is { } start && Overall > 0 ? Math.Max(0, (item.Time - start).TotalSeconds * (1 - Overall) / Overall) : null;
    }
}
