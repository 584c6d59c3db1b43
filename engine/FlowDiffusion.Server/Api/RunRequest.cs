using System.Text.Json;

namespace FlowDiffusion.Server.Api;

/// <summary>The body of <c>POST /api/runs</c>: a saved workflow's name or YAML text, input values and a priority.</summary>
/// <param name="Workflow">A saved workflow's name.</param>
/// <param name="Yaml">Workflow text, instead of a name.</param>
/// <param name="Inputs">Input values by input name.</param>
/// <param name="Priority">Higher runs first (default 0).</param>
public sealed record RunRequest(string? Workflow, string? Yaml, JsonElement? Inputs, int? Priority);
