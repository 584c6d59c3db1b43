using System.Text.Json;
using FlowDiffusion.Client;
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

    /// <summary>How it ended: "done", "failed", "cancelled", "lost" (its server forgot it), or null while queued or running.</summary>
    public string? Outcome { get; private set; }

    /// <summary>Why it failed.</summary>
    public string? Error { get; private set; }

    /// <summary>The latest line of the run's log from a server (on a cluster: which worker took it, why it waits).</summary>
    public string? LastLog { get; private set; }

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

    /// <summary>
    /// Applies one message of a server's event stream (the wire form of the same bus, <c>docs/events.md</c>), as
    /// <see cref="Apply(RunMessage, Func{string, string?})"/> does for the in-process one. Output images are not fetched
    /// here: the caller fetches <see cref="OutputsOf"/> and adds them with <see cref="AddImage(GalleryImage)"/> (before
    /// applying run_ended, so a run whose images did not arrive live still shows them).
    /// </summary>
    public void Apply(RunEventMessage message)
    {
        var data = message.Data;
        if (Number(data, "overall") is { } overall) Overall = Math.Max(Overall, overall);
        var node = Text(data, "node");
        switch (message.Kind)
        {
            case RunEventMessage.EndedKind:
                if (Finished) return;
                if (data.TryGetProperty("nodes", out var timings) && timings.ValueKind == JsonValueKind.Array)
                {
                    foreach (var timing in timings.EnumerateArray())
                    {
                        if (Text(timing, NodeTimingJson.Node) is { } id)
                            States[id] = timing.TryGetProperty(NodeTimingJson.Cached, out var cached) && cached.ValueKind == JsonValueKind.True ? NodeRunState.Cached : NodeRunState.Done;
                    }
                }
                var status = Text(data, "status");
                if (status == "completed") Overall = 1;
                End(status switch
                {
                    "completed" => "done",
                    "cancelled" => "cancelled",
                    _ => "failed",
                }, Text(data, "error"));
                return;
            case RunMessage.StateKind:
                if (Text(data, "status") == "queued") return;
                Started = true;
                if (data.TryGetProperty("nodes", out var nodes) && nodes.ValueKind == JsonValueKind.Object)
                {
                    foreach (var item in nodes.EnumerateObject())
                    {
                        States[item.Name] = Text(item.Value, "state") switch
                        {
                            "running" => NodeRunState.Running,
                            "cached" => NodeRunState.Cached,
                            "finished" => NodeRunState.Done,
                            "failed" => NodeRunState.Failed,
                            _ => NodeRunState.Queued,
                        };
                        if (Number(item.Value, "total_steps") is > 0 and var total && Number(item.Value, "step") is { } step)
                            Progress[item.Name] = ((int)step, (int)total, step / total);
                    }
                }
                if (data.TryGetProperty("previews", out var previews) && previews.ValueKind == JsonValueKind.Object)
                {
                    foreach (var item in previews.EnumerateObject())
                    {
                        if (item.Value.ValueKind == JsonValueKind.String) Previews[item.Name] = item.Value.GetString()!;
                    }
                }
                return;
            case RunMessage.LogKind:
                // A waiting run logs too ("waiting: no worker has …"): a log line says nothing about having started.
                LastLog = Text(data, "message") ?? LastLog;
                return;
        }
        // Every other message is an event of an executing attempt (run_started names no node).
        Started = true;
        if (node is null) return;
        switch (message.Kind)
        {
            case "node_started": States[node] = NodeRunState.Running; break;
            case "node_cached": States[node] = NodeRunState.Cached; break;
            case "node_finished": States[node] = NodeRunState.Done; break;
            case "node_failed":
                States[node] = NodeRunState.Failed;
                Error = $"{node}: {Text(data, "error")}";
                break;
            case "progress" when Number(data, "step") is { } step && Number(data, "total_steps") is { } total:
                Progress[node] = ((int)step, (int)total, Number(data, "fraction") ?? (total > 0 ? step / total : 0));
                break;
            case "preview" when Text(data, "image") is { } image:
                Previews[node] = image;
                PreviewCounts[node] = PreviewCounts.GetValueOrDefault(node) + 1;
                break;
        }
    }

    /// <summary>The output files a server's message names (an output, the run_state so far, or run_ended's list), with their node ("" when not said).</summary>
    public static IReadOnlyList<(string NodeId, RunOutput Output)> OutputsOf(RunEventMessage message)
    {
        var data = message.Data;
        if (message.Kind == "output")
            return Text(data, "file") is { } file && Text(data, "url") is { } url ? [(Text(data, "node") ?? "", new RunOutput(file, url))] : [];
        if (message.Kind is not (RunMessage.StateKind or RunEventMessage.EndedKind) || !data.TryGetProperty("outputs", out var outputs) || outputs.ValueKind != JsonValueKind.Array)
            return [];
        return outputs.EnumerateArray().Where(o => Text(o, "file") is not null && Text(o, "url") is not null)
            .Select(o => (Text(o, "node") ?? "", new RunOutput(Text(o, "file")!, Text(o, "url")!))).ToList();
    }

    /// <summary>Adds an output image fetched from a server; one already shown (a reconnected stream names it again) is not added twice.</summary>
    public void AddImage(GalleryImage image)
    {
        if (!Images.Any(i => i.FileName == image.FileName)) Images.Add(image);
    }

    /// <summary>Stops showing the run as going without knowing how it ended (its server is gone, or forgot it): the reason is its error.</summary>
    public void Abandon(string reason)
    {
        if (!Finished) End("lost", reason);
    }

    private static string? Text(JsonElement data, string name) =>
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static double? Number(JsonElement data, string name) =>
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

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
