using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server.Api;
using FlowDiffusion.Server.Runs;
using FlowDiffusion.Server.Uploads;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server;

/// <summary>Registers the HTTP API's services: engine, run backend (store, event bus, outputs, dispatcher), API key check, problem details, OpenAPI.</summary>
public static class FlowDiffusionServerServiceCollectionExtensions
{
    /// <summary>The run database's file name inside <see cref="FlowDiffusionOptions.DataFolder"/>.</summary>
    public const string DatabaseFile = "runs.db";

    /// <summary>Adds everything <see cref="FlowDiffusionApi.MapFlowDiffusionApi"/> needs.</summary>
    public static IServiceCollection AddFlowDiffusionServer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddFlowDiffusion(configuration);
        services.AddOptions<ServerOptions>().Bind(configuration.GetSection(ServerOptions.Section));
        services.AddOptions<FlowDiffusionOptions>().PostConfigure<IOptions<ServerOptions>>((engine, server) =>
        {
            // Registered before any caller's PostConfigure, so folders they add stay relative to the current directory.
            if (server.Value.WorkingFolder is not { Length: > 0 } root) return;
            var full = Path.GetFullPath(root);
            engine.WorkingFolder = full;
            engine.PluginFolders = [.. engine.PluginFolders.Select(f => Path.GetFullPath(f, full))];
            engine.ModelsFolder = Path.GetFullPath(engine.ModelsFolder, full);
            engine.WorkflowsFolder = Path.GetFullPath(engine.WorkflowsFolder, full);
            engine.OutputFolder = Path.GetFullPath(engine.OutputFolder, full);
            engine.DataFolder = Path.GetFullPath(engine.DataFolder, full);
        });
        services.AddSingleton<IRunStore>(sp =>
            new SqliteRunStore(Path.Combine(Path.GetFullPath(sp.GetRequiredService<IOptions<FlowDiffusionOptions>>().Value.DataFolder), DatabaseFile)));
        services.AddSingleton(sp => new RunEventBus(sp.GetRequiredService<IOptions<ServerOptions>>().Value.EventQueueLength));
        services.AddSingleton<IOutputStore>(sp => new LocalOutputStore(sp.GetRequiredService<IOptions<FlowDiffusionOptions>>().Value.OutputFolder));
        services.AddSingleton<EmbeddedRunBackend>();
        services.AddSingleton<IRunBackend>(sp => sp.GetRequiredService<EmbeddedRunBackend>());
        services.AddSingleton<EventStreamLimiter>();
        services.AddExceptionHandler<RunStoreErrorHandler>();
        services.AddSingleton<UploadStore>();
        services.AddSingleton<WarmUp>();
        services.AddSingleton<RunDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<RunDispatcher>());
        services.AddSingleton<ApiKeyCheck>();
        services.TryAddSingleton(new BindingWaiver(false));
        services.AddHostedService<BoundAddressCheck>();
        services.AddSingleton<RequestOriginCheck>();
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = BodyRefusals.Explain);
        services.AddOpenApi(options => options.AddApiSchemas());
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ServerOptions>>((kestrel, server) =>
            kestrel.Limits.MaxRequestBodySize = server.Value.MaxRequestBytes);
        return services;
    }
}
