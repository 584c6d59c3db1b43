using System.Net;

namespace FlowDiffusion.Client;

/// <summary>The API answered with an error (an RFC 9457 problem): its status, title, detail and each error's message.</summary>
public sealed class FlowDiffusionApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FlowDiffusionApiException(HttpStatusCode status, string? title, string? detail, IReadOnlyList<string> errors)
        : base($"{(int)status} {title}: {detail}" + (errors.Count > 0 ? " " + string.Join("; ", errors) : ""))
    {
        Status = status;
        Title = title;
        Detail = detail;
        Errors = errors;
    }

    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The problem's title.</summary>
    public string? Title { get; }

    /// <summary>The problem's detail.</summary>
    public string? Detail { get; }

    /// <summary>Each error's message (workflow validation errors, with their input or node).</summary>
    public IReadOnlyList<string> Errors { get; }
}
