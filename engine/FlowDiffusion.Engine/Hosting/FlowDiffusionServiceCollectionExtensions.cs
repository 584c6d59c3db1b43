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
}
