using System.Text.Json.Nodes;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Api;

/// <summary>A run as <c>GET /api/runs/{id}</c> serves it.</summary>
public static class RunJson
{
    /// <summary>The run with its inputs, node timings and output URLs.</summary>
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
            ["inputs"] = Parse(run.InputsJson) ?? new JsonObject(),
            ["nodes"] = Parse(run.NodesJson) ?? new JsonArray(),
            ["outputs"] = new JsonArray(outputs.Select(o => (JsonNode)new JsonObject
            {
                ["file"] = o?.GetValue<string>(),
                ["url"] = OutputUrl(run.Id, o?.GetValue<string>() ?? ""),
            }).ToArray()),
            ["error"] = run.Error,
        };
    }

    /// <summary>The URL of one output file of a run.</summary>
    public static string OutputUrl(string runId, string file) =>
        $"/api/outputs/{runId}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}";

    private static JsonNode? Parse(string? json) => string.IsNullOrEmpty(json) ? null : JsonNode.Parse(json);
}
