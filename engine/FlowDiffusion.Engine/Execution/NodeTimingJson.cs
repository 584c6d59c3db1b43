using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// Node timings as JSON, the one spelling every surface uses (the run record and events of the API, <c>run --json</c>
/// of the CLI): <c>{"node": id, "type": node type, "duration_ms": milliseconds, "cached": bool}</c>.
/// </summary>
public static class NodeTimingJson
{
    /// <summary>The key of the node id.</summary>
    public const string Node = "node";

    /// <summary>The key of the node type.</summary>
    public const string Type = "type";

    /// <summary>The key of the execution time in milliseconds (0 when cached).</summary>
    public const string DurationMs = "duration_ms";

    /// <summary>The key of whether the outputs came from the cache.</summary>
    public const string Cached = "cached";

    /// <summary>One timing.</summary>
    public static JsonObject Write(NodeTiming timing) => new()
    {
        [Node] = timing.NodeId,
        [Type] = timing.NodeType,
        [DurationMs] = Math.Round(timing.Duration.TotalMilliseconds, 3),
        [Cached] = timing.Cached,
    };

    /// <summary>Timings as a JSON array.</summary>
    public static JsonArray Write(IEnumerable<NodeTiming> timings) => new(timings.Select(t => (JsonNode)Write(t)).ToArray());

    /// <summary>Reads timings written by <see cref="Write(IEnumerable{NodeTiming})"/>; empty for null or empty text.</summary>
    public static IReadOnlyList<NodeTiming> Parse(string? json)
    {
        if (string.IsNullOrEmpty(json)) return [];
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Array) return [];
        return document.RootElement.EnumerateArray().Select(e => new NodeTiming(
            e.TryGetProperty(Node, out var node) ? node.GetString() ?? "" : "",
            e.TryGetProperty(Type, out var type) ? type.GetString() ?? "" : "",
            TimeSpan.FromMilliseconds(e.TryGetProperty(DurationMs, out var ms) && ms.ValueKind == JsonValueKind.Number ? ms.GetDouble() : 0),
            e.TryGetProperty(Cached, out var cached) && cached.ValueKind == JsonValueKind.True)).ToList();
    }
}
