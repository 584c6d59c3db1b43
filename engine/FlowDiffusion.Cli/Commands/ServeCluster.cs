using FlowDiffusion.Cluster.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>serve --cluster</c>: the server becomes the cluster's coordinator (its runs execute on <c>flowdiffusion worker</c>s).</summary>
internal static class ServeCluster
{
    public static void AddCoordinator(IServiceCollection services, string membership, int siloPort, string? advertise)
    {
        // Validated here, so a malformed URL is a usage error before anything starts.
        ClusterHosting.RedisConfiguration(membership);
        services.AddLogging(logging => logging.AddFilter("Orleans", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning));
        services.AddFlowDiffusionCoordinator(silo => ClusterHosting.UseRedisMembership(silo, membership, siloPort, advertise));
    }
}
