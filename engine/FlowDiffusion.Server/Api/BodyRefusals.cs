using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// Says what to do in the problems ASP.NET answers by itself when it cannot bind a JSON body (too large, not JSON, not
/// readable), which otherwise carry a title alone.
/// </summary>
internal static class BodyRefusals
{
    public static void Explain(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Detail is not null) return;
        problem.Detail = problem.Status switch
        {
            StatusCodes.Status413PayloadTooLarge => $"The request body is larger than the {Limit(context.HttpContext)} bytes this server accepts (FlowDiffusion:Server:MaxRequestBytes).",
            StatusCodes.Status415UnsupportedMediaType => "Send the body as JSON (Content-Type: application/json).",
            StatusCodes.Status400BadRequest when context.HttpContext.Request.HasJsonContentType() => "The request body is not valid JSON of the documented schema.",
            _ => null,
        };
    }

    private static long? Limit(HttpContext context) =>
        context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize
        ?? context.RequestServices.GetService<IOptions<ServerOptions>>()?.Value.MaxRequestBytes;
}
