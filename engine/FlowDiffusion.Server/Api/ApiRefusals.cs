using Microsoft.AspNetCore.Http;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// The statuses the server's own checks answer before any route runs, with the settings that decide them: the Host check
/// (421, only without an API key, <see cref="RequestOriginCheck"/>), the API key (401, only with one, every route but
/// <c>/api/health</c>, <see cref="ApiKeyCheck"/>) and the cross-origin check (403, state-changing methods). The OpenAPI
/// document adds them to each operation.
/// </summary>
internal static class ApiRefusals
{
    /// <summary>The OpenAPI security scheme's name for the <c>X-Api-Key</c> header.</summary>
    public const string ApiKeyScheme = "ApiKey";

    /// <summary>Whether a request to <paramref name="path"/> needs the API key when one is configured.</summary>
    public static bool NeedsKey(string path) => !path.TrimStart('/').StartsWith("api/health", StringComparison.Ordinal);

    /// <summary>The statuses those checks may answer for <paramref name="method"/> <paramref name="path"/>, by status with their reason.</summary>
    public static IEnumerable<(int Status, string Description)> For(string method, string path, ServerOptions options)
    {
        if (string.IsNullOrEmpty(options.ApiKey))
            yield return (StatusCodes.Status421MisdirectedRequest, "The Host header names neither loopback nor one of FlowDiffusion:Server:AllowedHosts (a server without an API key guards against DNS rebinding).");
        else if (NeedsKey(path))
            yield return (StatusCodes.Status401Unauthorized, $"The {ApiKeyCheck.Header} header is missing or wrong.");
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method) && !HttpMethods.IsOptions(method))
            yield return (StatusCodes.Status403Forbidden, "A browser sent it from another origin (not this server's, nor one of FlowDiffusion:Server:AllowedOrigins).");
    }
}
