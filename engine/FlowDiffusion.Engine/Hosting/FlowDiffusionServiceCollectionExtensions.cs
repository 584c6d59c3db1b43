using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FlowDiffusion.Engine.Hosting;

/// <summary>Registers the engine with a generic host.</summary>
public static class FlowDiffusionServiceCollectionExtensions
{
    /// <summary>Adds <see cref="FlowDiffusionEngine"/> with options bound from the <c>FlowDiffusion</c> section.</summary>
    public static IServiceCollection AddFlowDiffusion(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FlowDiffusionOptions>().Bind(configuration.GetSection(FlowDiffusionOptions.Section));
        services.AddSingleton<FlowDiffusionEngine>();
        return services;
    }

    /// <summary>
    /// Adds <see cref="PluginHotReload"/>: while the host runs, plugin folders that are added, rebuilt or removed are
    /// reloaded (see <see cref="FlowDiffusionOptions.WatchPlugins"/>). For long-running hosts; call after
    /// <see cref="AddFlowDiffusion"/>.
    /// </summary>
    public static IServiceCollection AddPluginHotReload(this IServiceCollection services)
    {
        services.AddHostedService<PluginHotReload>();
        return services;
    }
}
