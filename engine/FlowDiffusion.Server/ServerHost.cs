using System.Net;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Server;

/// <summary>Builds the headless API host that <c>flowdiffusion serve</c> runs (and the tests start on a free port).</summary>
public static class ServerHost
{
    /// <summary>
    /// The web application: configuration from appsettings.json, <c>FLOWDIFFUSION_</c> environment variables and
    /// <paramref name="settings"/>, bound to <paramref name="urls"/>. Always the Production environment, so errors
    /// never carry stack traces.
    /// </summary>
    /// <param name="urls">The addresses to listen on (port 0 picks a free one).</param>
    /// <param name="settings">Configuration values that override the files and environment.</param>
    /// <param name="allowWithoutApiKey">Serve non-loopback addresses without an API key (explicit waiver).</param>
    /// <param name="configureServices">Extra service registrations, applied after the server's own.</param>
    /// <exception cref="InvalidOperationException">
    /// A non-loopback URL without an API key and without the waiver. The addresses Kestrel actually binds are checked
    /// again once it has (<see cref="BoundAddressCheck"/>): starting then fails the same way, with the listeners closed.
    /// </exception>
    public static WebApplication Create(IReadOnlyList<string> urls, IEnumerable<KeyValuePair<string, string?>>? settings = null, bool allowWithoutApiKey = false,
        Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Production,
            ContentRootPath = Environment.CurrentDirectory,
        });
        builder.Configuration.AddEnvironmentVariables("FLOWDIFFUSION_").AddInMemoryCollection(settings ?? []);
        var apiKey = builder.Configuration[ServerOptions.Section + ":ApiKey"];
        if (BindingError(ListenUrls(builder.Configuration, urls), apiKey, allowWithoutApiKey) is { } error) throw new InvalidOperationException(error);
        builder.WebHost.UseUrls([.. urls]);
        // Per-request logs drown the run log of a long-lived server; configuration can still lower this.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddSingleton(new BindingWaiver(allowWithoutApiKey));
        builder.Services.AddFlowDiffusionServer(builder.Configuration);
        builder.Services.AddPluginHotReload();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestOriginCheck>();
        app.UseMiddleware<ApiKeyCheck>();
        app.MapFlowDiffusionApi();
        return app;
    }

    /// <summary>Why these URLs may not be served, or null: anything beyond loopback needs an API key unless explicitly waived.</summary>
    public static string? BindingError(IEnumerable<string> urls, string? apiKey, bool allowWithoutApiKey)
    {
        if (!string.IsNullOrEmpty(apiKey) || allowWithoutApiKey) return null;
        var exposed = urls.Where(u => !IsLoopback(u)).ToList();
        return exposed.Count == 0 ? null :
            $"{string.Join(", ", exposed)} is reachable from other machines: set an API key (--api-key, or FLOWDIFFUSION_FlowDiffusion__Server__ApiKey " +
            "in the environment) that clients send in the X-Api-Key header, or pass --insecure-no-api-key to serve without one.";
    }

    /// <summary>
    /// The addresses the host will listen on: <paramref name="urls"/> and any <c>Kestrel:Endpoints:*:Url</c> in
    /// configuration (which Kestrel binds instead of, or besides, them), so the API key check sees every one.
    /// </summary>
    public static IReadOnlyList<string> ListenUrls(IConfiguration configuration, IEnumerable<string> urls) =>
        [.. urls, .. configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>()];

    /// <summary>Whether a URL binds only the loopback interface.</summary>
    public static bool IsLoopback(string url)
    {
        // Kestrel's wildcard hosts ("*", "+") do not parse as URIs; they bind every interface.
        if (!Uri.TryCreate(url.Replace("://*", "://wildcard.invalid", StringComparison.Ordinal).Replace("://+", "://wildcard.invalid", StringComparison.Ordinal),
                UriKind.Absolute, out var uri)) return false;
        return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }
}
