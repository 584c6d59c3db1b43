using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// Two checks against browsers being used as a proxy into the API. The <c>Host</c> header must name loopback (or one of
/// <see cref="ServerOptions.AllowedHosts"/>) unless an API key is set: a page on another site that rebinds its DNS name
/// to 127.0.0.1 still sends its own name. And a state-changing request (POST, PUT, PATCH, DELETE) sent by a browser from
/// another origin is refused: its <c>Origin</c> (or <c>Sec-Fetch-Site: cross-site</c>) gives it away, and without the
/// check any web page could queue runs or upload files to a local server with a plain form.
/// </summary>
public sealed class RequestOriginCheck(IOptions<ServerOptions> options) : IMiddleware
{
    /// <inheritdoc />
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var settings = options.Value;
        var request = context.Request;
        if (string.IsNullOrEmpty(settings.ApiKey) && !HostAllowed(request.Host.Host, settings))
        {
            await Refuse(context, StatusCodes.Status421MisdirectedRequest, "Host not allowed",
                $"This server answers to loopback names only, not '{request.Host.Host}'; add the name to FlowDiffusion:Server:AllowedHosts, or set an API key.");
            return;
        }
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method) && CrossOrigin(request, settings))
        {
            await Refuse(context, StatusCodes.Status403Forbidden, "Cross-origin request refused",
                $"A {request.Method} from another origin ('{request.Headers.Origin}') is refused; add it to FlowDiffusion:Server:AllowedOrigins if it is yours.");
            return;
        }
        await next(context);
    }

    private static bool HostAllowed(string host, ServerOptions settings)
    {
        if (settings.AllowedHosts.Contains("*") || settings.AllowedHosts.Contains(host, StringComparer.OrdinalIgnoreCase)) return true;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }

    private static bool CrossOrigin(HttpRequest request, ServerOptions settings)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
            return request.Headers["Sec-Fetch-Site"].ToString() == "cross-site";
        if (settings.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase)) return false;
        // Same origin: the browser's page came from this very host and port.
        return !Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            || !string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase);
    }

    private static Task Refuse(HttpContext context, int status, string title, string detail) =>
        Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(context);
}
