using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Server.Api;

/// <summary>The engine's run events as the JSON the event stream sends (snake_case, durations in milliseconds).</summary>
public static class RunEventJson
{
    /// <summary>One event; its <c>kind</c> is also the SSE event name.</summary>
    public static JsonObject Write(RunEvent item, Func<string, string?>? outputUrl = null)
    {
        var json = new JsonObject { ["kind"] = item.Kind, ["run_id"] = item.RunId, ["time"] = item.Time };
        switch (item)
        {
            case RunStarted e:
                json["nodes"] = new JsonArray(e.Nodes.Select(n => (JsonNode)JsonValue.Create(n)).ToArray());
                break;
            case RunFinished e:
                json["duration_ms"] = Math.Round(e.Duration.TotalMilliseconds, 3);
                break;
            case RunFailed e:
                json["error"] = e.Error;
                json["node"] = e.NodeId;
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
                json["duration_ms"] = Math.Round(e.Duration.TotalMilliseconds, 3);
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
                break;
            case OutputWritten e:
                json["node"] = e.NodeId;
                json["file"] = Path.GetFileName(e.Path);
                json["url"] = outputUrl?.Invoke(e.Path);
                break;
        }
        return json;
    }
}
