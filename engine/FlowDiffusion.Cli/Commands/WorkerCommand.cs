using System.CommandLine;
using FlowDiffusion.Cluster.Hosting;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Cli.Commands;

/// <summary>
/// <c>flowdiffusion worker --cluster redis://…</c>: joins a cluster as a worker silo and executes runs the coordinator
/// (<c>flowdiffusion serve --cluster</c>) hands out, one claim loop per slot, with this installation's plugins and models.
/// </summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var cluster = ClusterOptions.Cluster(required: true);
        var siloPort = ClusterOptions.SiloPort(11112);
        var slots = new Option<int>("--slots")
        {
            Description = "How many runs execute at once: one per GPU, or the CPU slots to offer (default 1).",
            HelpName = "N",
            DefaultValueFactory = _ => 1,
        };
        var name = new Option<string?>("--name") { Description = "The worker's name in leases and logs (default: the machine name).", HelpName = "NAME" };
        var command = new Command("worker", "Join a cluster and execute its runs until Ctrl+C.") { cluster, siloPort, ClusterOptions.Advertise, slots, name };
        CommandAction.Set(command, async (parse, cancellationToken) =>
        {
            var settings = ConfigPairs.Parse(parse.GetValue(GlobalOptions.Config) ?? []).ToList();
            InstallationHome? home;
            try
            {
                home = InstallationHome.Find(settings.LastOrDefault(s => s.Key == InstallationHome.ConfigurationKey).Value);
            }
            catch (DirectoryNotFoundException e)
            {
                throw new UsageException(e.Message);
            }
            if (home is not null)
            {
                Console.Error.WriteLine($"FlowDiffusion home: {home.Folder} ({home.FoundBy})");
                // Runs name models and inputs relative to the home, as on the server.
                settings.Insert(0, new(ServerOptions.Section + ":WorkingFolder", home.Folder));
                settings.Insert(0, new(FlowDiffusionOptions.Section + ":ModelsFolder", Path.Combine(home.Folder, "models")));
                // Runs arrive as YAML; the saved workflows are read only by a warm-up (FlowDiffusion:Server:WarmUp).
                settings.Insert(0, new(FlowDiffusionOptions.Section + ":WorkflowsFolder", Path.Combine(home.Folder, "workflows")));
                settings.Insert(0, new(FlowDiffusionOptions.Section + ":PluginFolders:0", Path.Combine(home.Folder, "plugins")));
            }
            settings.Add(new(ScaleOutOptions.Section + ":Slots", Math.Max(1, parse.GetValue(slots)).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (parse.GetValue(name) is { Length: > 0 } given) settings.Add(new(ScaleOutOptions.Section + ":WorkerName", given));
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Production, ContentRootPath = Environment.CurrentDirectory });
            builder.Configuration.AddEnvironmentVariables("FLOWDIFFUSION_").AddInMemoryCollection(settings);
            builder.Logging.AddFilter("Orleans", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning).AddFilter("Microsoft", LogLevel.Warning);
            builder.Services.AddFlowDiffusion(builder.Configuration);
            builder.Services.AddOptions<ServerOptions>().Bind(builder.Configuration.GetSection(ServerOptions.Section));
            var extraPlugins = (parse.GetValue(GlobalOptions.Plugins) ?? []).Select(Path.GetFullPath).ToList();
            builder.Services.PostConfigure<FlowDiffusionOptions>(o =>
            {
                o.PluginFolders.AddRange(extraPlugins);
                if (!o.PluginFolders.Any(Directory.Exists)) o.PluginFolders.Add(Path.Combine(AppContext.BaseDirectory, "plugins"));
            });
            try
            {
                builder.UseOrleans(silo =>
                {
                    ClusterHosting.ConfigureWorker(silo);
                    ClusterHosting.UseRedisMembership(silo, parse.GetValue(cluster)!, parse.GetValue(siloPort), parse.GetValue(ClusterOptions.Advertise));
                });
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            using var host = builder.Build();
            var engine = host.Services.GetRequiredService<FlowDiffusionEngine>();
            if (InstallationHome.NoPluginsWarning(engine.Plugins.Plugins.Count, engine.Options.PluginFolders, home) is { } warning)
                Console.Error.WriteLine("warning: " + warning);
            await host.StartAsync(cancellationToken);
            Console.Error.WriteLine($"FlowDiffusion worker joined {parse.GetValue(cluster)} with {Math.Max(1, parse.GetValue(slots))} slot(s); Ctrl+C stops.");
            await host.WaitForShutdownAsync(cancellationToken);
            return ExitCodes.Ok;
        });
        return command;
    }
}
