using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Api;

/// <summary>A run as <c>GET /api/runs/{id}</c> serves it.</summary>
public static class RunJson
{
    /// <summary>
    /// The run with its inputs, node timings and output URLs. In a list page (where the store leaves long inputs out)
    /// <c>inputs</c> is null for such a run and <c>inputs_length</c> says how long they are.
    /// </summary>
    public static JsonObject Write(RunRecord run)
    {
        var outputs = Parse(run.OutputsJson) as JsonArray ?? [];
        return new JsonObject
        {
            ["id"] = run.Id,
            ["status"] = run.Status.Name(),
            ["priority"] = run.Priority,
            ["workflow"] = run.Workflow,
            ["submitted"] = run.Submitted,
            ["started"] = run.Started,
            ["finished"] = run.Finished,
            ["attempts"] = run.Attempts,
            ["inputs"] = Parse(run.InputsJson),
            ["nodes"] = NodeTimingJson.Write(NodeTimingJson.Parse(run.NodesJson)),
            ["outputs"] = new JsonArray(outputs.Select(o => (JsonNode)new JsonObject
            {
                ["file"] = o?.GetValue<string>(),
                ["url"] = OutputUrl(run.Id, o?.GetValue<string>() ?? ""),
            }).ToArray()),
            ["error"] = run.Error,
            ["inputs_length"] = run.InputsLength,
        };
    }

    /// <summary>The URL of one output file of a run.</summary>
    public static string OutputUrl(string runId, string file) =>
        $"/api/outputs/{runId}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}";

    private static JsonNode? Parse(string? json) => string.IsNullOrEmpty(json) ? null : JsonNode.Parse(json);
}
