using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server.Api;
using FlowDiffusion.Server.Runs;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server;

/// <summary>Registers the HTTP API's services: engine, run store, dispatcher, API key check, problem details, OpenAPI.</summary>
public static class FlowDiffusionServerServiceCollectionExtensions
{
    /// <summary>The run database's file name inside <see cref="FlowDiffusionOptions.DataFolder"/>.</summary>
    public const string DatabaseFile = "runs.db";

    /// <summary>Adds everything <see cref="FlowDiffusionApi.MapFlowDiffusionApi"/> needs.</summary>
    public static IServiceCollection AddFlowDiffusionServer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddFlowDiffusion(configuration);
        services.AddOptions<ServerOptions>().Bind(configuration.GetSection(ServerOptions.Section));
        services.AddSingleton<IRunStore>(sp =>
            new SqliteRunStore(Path.Combine(Path.GetFullPath(sp.GetRequiredService<IOptions<FlowDiffusionOptions>>().Value.DataFolder), DatabaseFile)));
        services.AddSingleton<RunDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<RunDispatcher>());
        services.AddSingleton<ApiKeyCheck>();
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ServerOptions>>((kestrel, server) =>
            kestrel.Limits.MaxRequestBodySize = server.Value.MaxRequestBytes);
        return services;
    }
}
