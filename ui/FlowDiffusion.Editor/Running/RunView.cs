using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Editor.Running;

/// <summary>The state of one queued editor run as its events arrive: per-node states, sampler progress, previews, images.</summary>
public sealed class RunView(string runId, IEnumerable<string> nodes)
{
    /// <summary>The largest side of a preview sent to the browser, in pixels: the event stream's.</summary>
    public const int PreviewSide = PreviewBitmap.MaxSide;

    /// <summary>The run's id in the queue (the id <c>GET /api/runs/{id}</c> answers to).</summary>
    public string RunId { get; } = runId;

    /// <summary>State by node id.</summary>
    public Dictionary<string, NodeRunState> States { get; } = nodes.ToDictionary(n => n, _ => NodeRunState.Queued, StringComparer.Ordinal);

    /// <summary>Step progress by node id (step, total).</summary>
    public Dictionary<string, (int Step, int Total, double Fraction)> Progress { get; } = new(StringComparer.Ordinal);

    /// <summary>The latest preview by node id, as a data URL.</summary>
    public Dictionary<string, string> Previews { get; } = new(StringComparer.Ordinal);

    /// <summary>How many previews arrived, by node id.</summary>
    public Dictionary<string, int> PreviewCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>Images written so far.</summary>
    public List<GalleryImage> Images { get; } = [];

    /// <summary>Whether the run has begun executing (until then it waits in the queue).</summary>
    public bool Started { get; private set; }

    /// <summary>Whether the run has ended.</summary>
    public bool Finished { get; private set; }

    /// <summary>How it ended: "done", "failed", "cancelled", or null while queued or running.</summary>
    public string? Outcome { get; private set; }

    /// <summary>Why it failed.</summary>
    public string? Error { get; private set; }

    /// <summary>"queued", "running", or how it ended.</summary>
    public string Status => Outcome ?? (Started ? "running" : "queued");

    /// <summary>The run's overall progress, 0 to 1, as the event bus computes it (never decreasing).</summary>
    public double Overall { get; private set; }

    /// <summary>Applies one message of the run event bus; <paramref name="findOutput"/> gives the local path of an output file of the run, or null.</summary>
    public void Apply(RunMessage message, Func<string, string?> findOutput)
    {
        Overall = Math.Max(Overall, message.Progress);
        if (message.Kind == RunMessage.EndedKind && message.Record is { } record)
        {
            Finish(record, findOutput);
            return;
        }
        if (message.State is { } state)
        {
            // A subscriber's first message: the run as it stands (empty while queued).
            if (state.Status == RunState.Queued) return;
            Started = true;
            foreach (var (id, node) in state.Nodes)
            {
                States[id] = node.State switch
                {
                    "running" => NodeRunState.Running,
                    "cached" => NodeRunState.Cached,
                    "finished" => NodeRunState.Done,
                    "failed" => NodeRunState.Failed,
                    _ => NodeRunState.Queued,
                };
                if (node.TotalSteps > 0) Progress[id] = (node.Step, node.TotalSteps, (double)node.Step / node.TotalSteps);
            }
            foreach (var (id, preview) in state.Previews) Apply(preview);
            foreach (var output in state.Outputs) Apply(output);
            return;
        }
        if (message.Event is { } e) Apply(e);
    }

    private void Apply(RunEvent e)
    {
        Started = true;
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
            case NodePreviewed p:
                Previews[p.NodeId] = ImageDataUrl.Of(p.Preview, maxSide: PreviewSide);
                PreviewCounts[p.NodeId] = PreviewCounts.GetValueOrDefault(p.NodeId) + 1;
                break;
            case OutputWritten o: AddImage(o.NodeId, o.Path); break;
        }
    }

    /// <summary>
    /// Ends the view from the queue's final record (the bus's run_ended): node states from its timings, and images from
    /// its output list (found through <paramref name="findOutput"/>) when none arrived live.
    /// </summary>
    public void Finish(RunRecord record, Func<string, string?> findOutput)
    {
        if (Finished) return;
        foreach (var node in NodeTimingJson.Parse(record.NodesJson))
            States[node.NodeId] = node.Cached ? NodeRunState.Cached : NodeRunState.Done;
        if (Images.Count == 0)
        {
            foreach (var file in Parse(record.OutputsJson))
            {
                if (findOutput(file.GetString()!) is { } path) AddImage("", path);
            }
        }
        if (record.Status == RunState.Completed) Overall = 1;
        End(record.Status switch
        {
            RunState.Completed => "done",
            RunState.Cancelled => "cancelled",
            _ => "failed",
        }, record.Error);
    }

    private void AddImage(string nodeId, string path)
    {
        if (path.EndsWith(".png", StringComparison.OrdinalIgnoreCase) && File.Exists(path))
            Images.Add(new GalleryImage(nodeId, Path.GetFileName(path), ImageDataUrl.OfFile(path)));
    }

    private static List<JsonElement> Parse(string? jsonArray)
    {
        if (string.IsNullOrEmpty(jsonArray)) return [];
        using var document = JsonDocument.Parse(jsonArray);
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
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
