using System.CommandLine;

namespace FlowDiffusion.Cli.Commands;

/// <summary>The options <c>serve --cluster</c> and <c>worker</c> share: where membership lives and how this silo is reached.</summary>
internal static class ClusterOptions
{
    public static Option<string?> Cluster(bool required) => new("--cluster")
    {
        Description = "Cluster membership: redis://HOST:PORT (Debian's redis-server, AOF on). " +
            (required ? "The worker joins it and executes runs the server hands out." : "The server becomes the coordinator; runs execute on workers."),
        HelpName = "URL",
        Required = required,
    };

    public static Option<int> SiloPort(int fallback) => new("--silo-port")
    {
        Description = $"The TCP port other cluster members reach this one on (default {fallback}).",
        HelpName = "PORT",
        DefaultValueFactory = _ => fallback,
    };

    public static readonly Option<string?> Advertise = new("--advertise")
    {
        Description = "The IP address other machines reach this one at (default: the first non-loopback IPv4 address).",
        HelpName = "IP",
    };
}
