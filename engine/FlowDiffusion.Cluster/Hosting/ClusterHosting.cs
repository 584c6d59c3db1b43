using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using FlowDiffusion.Cluster.Dispatch;
using FlowDiffusion.Cluster.Worker;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;

namespace FlowDiffusion.Cluster.Hosting;

/// <summary>
/// The two roles of a FlowDiffusion cluster as Orleans silos: the coordinator (the server: run store, API, dispatcher
/// grain) and workers (claim loops over the engine). Both are silos, so a worker that dies is declared dead by Orleans
/// membership and its runs go back to the queue within the probe settings (<see cref="ScaleOutOptions.ProbeTimeoutSeconds"/>,
/// <see cref="ScaleOutOptions.NumMissedProbesLimit"/>).
/// </summary>
public static class ClusterHosting
{
    /// <summary>The Orleans cluster and service id of every FlowDiffusion cluster (membership entries in Redis are keyed by it).</summary>
    public const string ClusterId = "flowdiffusion";

    /// <summary>
    /// Makes a server the coordinator: its run backend becomes <see cref="ClusterRunBackend"/> (runs execute on workers,
    /// not in this process), and it hosts a silo with the dispatcher grain. <paramref name="configureSilo"/> adds the
    /// membership provider (<see cref="UseRedisMembership"/>) and endpoints.
    /// </summary>
    public static IServiceCollection AddFlowDiffusionCoordinator(this IServiceCollection services, Action<ISiloBuilder> configureSilo)
    {
        services.AddOptions<ServerOptions>().PostConfigure(o => o.ExecuteRuns = false);
        services.AddSingleton<RunRequirementsReader>();
        services.AddSingleton<ClusterRunBackend>();
        services.AddSingleton<IRunBackend>(sp => sp.GetRequiredService<ClusterRunBackend>());
        services.AddOrleans(silo =>
        {
            ConfigureCoordinator(silo);
            configureSilo(silo);
        });
        services.AddHostedService<DispatcherStart>();
        return services;
    }

    /// <summary>The coordinator's silo settings: its name (the dispatcher's placement), options, membership tuning.</summary>
    public static ISiloBuilder ConfigureCoordinator(ISiloBuilder silo)
    {
        ConfigureCommon(silo);
        silo.Services.AddOptions<SiloOptions>().Configure<IOptions<ScaleOutOptions>>((o, cluster) => o.SiloName = cluster.Value.CoordinatorSiloName);
        return silo;
    }

    /// <summary>
    /// A worker's silo settings: it never hosts the dispatcher, and it runs <see cref="ClusterWorker"/> (one claim loop per
    /// slot) over the registered <see cref="IRunExecutor"/> (the engine's, unless one is registered before).
    /// </summary>
    public static ISiloBuilder ConfigureWorker(ISiloBuilder silo)
    {
        ConfigureCommon(silo);
        silo.Services.AddOptions<SiloOptions>().Configure<IOptions<ScaleOutOptions>>((o, cluster) =>
            o.SiloName = $"worker-{(cluster.Value.WorkerName is { Length: > 0 } name ? name : Environment.MachineName)}-{Environment.ProcessId}");
        // The dispatcher must live beside the run store: worker silos do not offer its grain type, so Orleans never places it there.
        silo.Services.PostConfigure<GrainTypeOptions>(o => o.Classes.Remove(typeof(DispatchGrain)));
        silo.Services.AddOptions<ServerOptions>();
        silo.Services.TryAddSingleton<WarmUp>();
        silo.Services.TryAddSingleton<IRunExecutor, EngineRunExecutor>();
        silo.Services.AddHostedService<ClusterWorker>();
        return silo;
    }

    /// <summary>
    /// Cluster membership in Redis (<c>redis://host:port</c>, or a StackExchange.Redis configuration string), under the
    /// cluster id <see cref="ClusterId"/>.
    /// </summary>
    /// <remarks>
    /// The silo listens on <paramref name="siloPort"/> (every interface) and tells the others <paramref name="advertised"/>
    /// (default: this machine's first non-loopback IPv4 address, loopback when it has none).
    /// </remarks>
    public static ISiloBuilder UseRedisMembership(ISiloBuilder silo, string redis, int siloPort, string? advertised = null)
    {
        var configuration = RedisConfiguration(redis);
        silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, ClusterId));
        silo.ConfigureEndpoints(advertised is { Length: > 0 } address ? IPAddress.Parse(address) : AdvertisedAddress(), siloPort, 0, listenOnAnyHostAddress: true);
        return silo.UseRedisClustering(o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(configuration));
    }

    private static IPAddress AdvertisedAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? IPAddress.Loopback;

    /// <summary>The StackExchange.Redis configuration string for <paramref name="redis"/>: <c>redis://[:password@]host:port</c> or already one.</summary>
    /// <exception cref="ArgumentException">A redis:// URL without a host.</exception>
    public static string RedisConfiguration(string redis)
    {
        if (!redis.StartsWith("redis://", StringComparison.OrdinalIgnoreCase)) return redis;
        if (!Uri.TryCreate(redis, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new ArgumentException($"--cluster {redis}: expected redis://host:port");
        var configuration = $"{uri.Host}:{(uri.Port > 0 ? uri.Port : 6379)}";
        var password = uri.UserInfo.Split(':', 2) is [_, var secret] ? Uri.UnescapeDataString(secret) : null;
        return password is { Length: > 0 } ? configuration + ",password=" + password : configuration;
    }

    private static void ConfigureCommon(ISiloBuilder silo)
    {
        // The application's configuration as the container has it: a silo added to a web application's services
        // (serve --cluster) gets no configuration of its own, so binding silo.Configuration ignored --config there.
        silo.Services.AddOptions<ScaleOutOptions>().BindConfiguration(ScaleOutOptions.Section);
        silo.Services.AddOptions<ClusterMembershipOptions>().Configure<IOptions<ScaleOutOptions>>((o, cluster) =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(Math.Max(0.1, cluster.Value.ProbeTimeoutSeconds));
            o.NumMissedProbesLimit = Math.Max(1, cluster.Value.NumMissedProbesLimit);
        });
    }
}
