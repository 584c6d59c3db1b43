using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// Refuses requests without the configured <c>X-Api-Key</c> (when one is configured); the health check stays open, and
/// tells a request without the key only states, not the reasons that can name the server's files (<see cref="Admits"/>).
/// </summary>
public sealed class ApiKeyCheck : IMiddleware
{
    /// <summary>The header carrying the key.</summary>
    public const string Header = "X-Api-Key";

    private readonly byte[]? _key;

    /// <summary>Creates the check from the server settings.</summary>
    public ApiKeyCheck(IOptions<ServerOptions> options) =>
        _key = string.IsNullOrEmpty(options.Value.ApiKey) ? null : Encoding.UTF8.GetBytes(options.Value.ApiKey);

    /// <inheritdoc />
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path.StartsWithSegments("/api/health") || Admits(context.Request))
        {
            await next(context);
            return;
        }
        await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Missing or wrong API key",
            detail: $"Send the server's API key in the {Header} header.").ExecuteAsync(context);
    }

    /// <summary>Whether <paramref name="request"/> may see everything: no key is configured, or it carries the key.</summary>
    /// <param name="request">The request.</param>
    public bool Admits(HttpRequest request) => _key is null || Matches(request.Headers[Header].ToString());

    // Fixed-time comparison, so response timing does not leak the key.
    private bool Matches(string presented) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(_key!));
}
