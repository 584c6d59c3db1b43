using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>A request the A1111 layer refuses: the HTTP status and the field it concerns, answered in A1111's error shape.</summary>
public sealed class A1111RequestException(int status, string field, string message) : Exception($"{field}: {message}")
{
    /// <summary>The HTTP status (4xx).</summary>
    public int Status { get; } = status;

    /// <summary>The request field, dotted for nested ones (<c>override_settings.sd_model_checkpoint</c>, <c>init_images[0]</c>).</summary>
    public string Field { get; } = field;

    /// <summary>
    /// A1111's error body (its API middleware's <c>error</c>, <c>detail</c>, <c>body</c>, <c>errors</c>, the last being
    /// starlette's "status: detail"), plus <c>field</c>.
    /// </summary>
    public JsonObject ToJson() => new()
    {
        ["error"] = "HTTPException",
        ["detail"] = Message,
        ["body"] = "",
        ["errors"] = $"{Status}: {Message}",
        ["field"] = Field,
    };
}
