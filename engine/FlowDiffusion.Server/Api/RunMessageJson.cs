using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// The wire form of <see cref="RunMessage"/> (schema v1, <c>docs/events.md</c>): snake_case, durations in milliseconds,
/// previews as BMP data URLs, output files as URLs. Its <c>kind</c> is also the SSE event name.
/// </summary>
public static class RunMessageJson
{
    /// <summary>One message.</summary>
    public static JsonObject Write(RunMessage message)
    {
        var json = new JsonObject { ["v"] = RunMessage.SchemaVersion, ["kind"] = message.Kind, ["run_id"] = message.RunId };
        if (message.Record is { } record)
        {
            // The terminal message comes from the stored record alone, so it reads the same whenever a client joined.
            WriteEnded(json, record);
            return json;
        }
        json["seq"] = message.Sequence;
        json["time"] = message.Time;
        json["overall"] = Math.Round(message.Progress, 4);
        json["eta_seconds"] = message.EtaSeconds is { } eta ? Math.Round(eta, 2) : null;
        if (message.State is { } state) WriteState(json, message.RunId, state);
        if (message.Text is { } text) json["message"] = text;
        if (message.Event is { } item) WriteEvent(json, message.RunId, item);
        return json;
    }

    private static void WriteEnded(JsonObject json, RunRecord record)
    {
        var run = RunJson.Write(record);
        json["time"] = record.Finished;
        json["status"] = record.Status.Name();
        json["error"] = record.Error;
        json["attempts"] = record.Attempts;
        json["started"] = record.Started;
        json["finished"] = record.Finished;
        json["nodes"] = run["nodes"]!.DeepClone();
        json["outputs"] = run["outputs"]!.DeepClone();
    }

    private static void WriteState(JsonObject json, string runId, RunSnapshot state)
    {
        json["status"] = state.Status.Name();
        json["attempt"] = state.Attempt;
        var nodes = new JsonObject();
        foreach (var (id, node) in state.Nodes)
        {
            nodes[id] = new JsonObject
            {
                ["state"] = node.State,
                ["step"] = node.Step,
                ["total_steps"] = node.TotalSteps,
                ["duration_ms"] = node.DurationMs,
                ["error"] = node.Error,
            };
        }
        json["nodes"] = nodes;
        var previews = new JsonObject();
        foreach (var (id, preview) in state.Previews) previews[id] = PreviewBitmap.DataUrl(preview.Preview, maxSide: PreviewBitmap.MaxSide);
        json["previews"] = previews;
        json["outputs"] = new JsonArray(state.Outputs.Select(o => (JsonNode)Output(runId, o)).ToArray());
    }

    private static JsonObject Output(string runId, OutputWritten output) => new()
    {
        ["node"] = output.NodeId,
        ["file"] = Path.GetFileName(output.Path),
        ["url"] = RunJson.OutputUrl(runId, Path.GetFileName(output.Path)),
    };

    private static void WriteEvent(JsonObject json, string runId, RunEvent item)
    {
        switch (item)
        {
            case RunStarted e:
                json["nodes"] = new JsonArray(e.Nodes.Select(n => (JsonNode)JsonValue.Create(n)).ToArray());
                break;
            case NodeStarted e:
                json["node"] = e.NodeId;
                json["node_type"] = e.NodeType;
                break;
            case NodeCached e:
                json["node"] = e.NodeId;
                json["node_type"] = e.NodeType;
                break;
            case NodeFinished e:
                json["node"] = e.NodeId;
                json["node_type"] = e.NodeType;
                json[NodeTimingJson.DurationMs] = Math.Round(e.Duration.TotalMilliseconds, 3);
                break;
            case NodeFailed e:
                json["node"] = e.NodeId;
                json["node_type"] = e.NodeType;
                json["error"] = e.Error;
                break;
            case NodeProgressed e:
                json["node"] = e.NodeId;
                json["fraction"] = e.Progress.Fraction;
                json["step"] = e.Progress.Step;
                json["total_steps"] = e.Progress.TotalSteps;
                json["message"] = e.Progress.Message;
                break;
            case NodePreviewed e:
                json["node"] = e.NodeId;
                json["width"] = e.Preview.Width;
                json["height"] = e.Preview.Height;
                json["image"] = PreviewBitmap.DataUrl(e.Preview, maxSide: PreviewBitmap.MaxSide);
                break;
            case OutputWritten e:
                foreach (var (key, value) in Output(runId, e)) json[key] = value?.DeepClone();
                break;
            case NodeMetric e:
                json["node"] = e.NodeId;
                json["name"] = e.Name;
                json["value"] = e.Value;
                break;
        }
    }
}
