using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Editor.Running;

/// <summary>The state of one editor run as its events arrive: per-node states, sampler progress, previews, images.</summary>
public sealed class RunView(WorkflowRun run, IEnumerable<string> nodes)
{
    /// <summary>The engine's run.</summary>
    public WorkflowRun Run { get; } = run;

    /// <summary>State by node id.</summary>
    public Dictionary<string, NodeRunState> States { get; } = nodes.ToDictionary(n => n, _ => NodeRunState.Queued, StringComparer.Ordinal);

    /// <summary>Step progress by node id (step, total).</summary>
    public Dictionary<string, (int Step, int Total, double Fraction)> Progress { get; } = new(StringComparer.Ordinal);

    /// <summary>The latest preview by node id, as a data URL.</summary>
    public Dictionary<string, string> Previews { get; } = new(StringComparer.Ordinal);

    /// <summary>Images written so far.</summary>
    public List<GalleryImage> Images { get; } = [];

    /// <summary>Whether the run has ended.</summary>
    public bool Finished { get; private set; }

    /// <summary>How it ended: "done", "failed", "cancelled", or null while running.</summary>
    public string? Outcome { get; private set; }

    /// <summary>Why it failed.</summary>
    public string? Error { get; private set; }

    /// <summary>Applies one event.</summary>
    public void Apply(RunEvent e)
    {
        switch (e)
        {
            case NodeStarted s: States[s.NodeId] = NodeRunState.Running; break;
            case NodeCached c: States[c.NodeId] = NodeRunState.Cached; break;
            case NodeFinished f: States[f.NodeId] = NodeRunState.Done; break;
            case NodeFailed f:
                States[f.NodeId] = NodeRunState.Failed;
                Error = $"{f.NodeId}: {f.Error}";
                break;
            case NodeProgressed p: Progress[p.NodeId] = (p.Progress.Step, p.Progress.TotalSteps, p.Progress.Fraction); break;
            case NodePreviewed p: Previews[p.NodeId] = ImageDataUrl.Of(p.Preview); break;
            case OutputWritten o when o.Path.EndsWith(".png", StringComparison.OrdinalIgnoreCase) && File.Exists(o.Path):
                Images.Add(new GalleryImage(o.NodeId, Path.GetFileName(o.Path), ImageDataUrl.OfFile(o.Path)));
                break;
            case RunFinished: End("done", null); break;
            case RunFailed f: End("failed", f.Error); break;
            case RunCancelled: End("cancelled", null); break;
        }
    }

    private void End(string outcome, string? error)
    {
        Finished = true;
        Outcome = outcome;
        Error ??= error;
        foreach (var id in States.Where(s => s.Value is NodeRunState.Queued or NodeRunState.Running).Select(s => s.Key).ToList())
            States[id] = NodeRunState.Idle;
    }
}
