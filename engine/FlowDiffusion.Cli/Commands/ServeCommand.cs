using FlowDiffusion.Comfy;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Api;
using System.CommandLine;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion serve</c>: the HTTP API with its persistent run queue, loopback-only unless an API key is set.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls")
        {
            Description = $"Addresses to listen on, ';'-separated (default {ServerOptions.DefaultUrl}). Anything beyond loopback needs --api-key.",
            HelpName = "URL",
            DefaultValueFactory = _ => ServerOptions.DefaultUrl,
        };
        var apiKey = new Option<string?>("--api-key")
        {
            Description = "Require this key in the X-Api-Key header (also FlowDiffusion:Server:ApiKey in configuration).",
            HelpName = "KEY",
        };
        var noKey = new Option<bool>("--insecure-no-api-key")
        {
            Description = "Serve a non-loopback address without an API key: anyone who can reach it can run workflows.",
        };
        var warmUp = new Option<string?>("--warm-up")
        {
            Description = "Run this saved workflow once at start, before the first queued run and off the record, so the first request finds its models loaded and warm (also FlowDiffusion:Server:WarmUp).",
            HelpName = "WORKFLOW",
        };
        var warmUpSet = new Option<string[]>("--warm-up-set")
        {
            Description = "Set an input of the warm-up workflow, e.g. --warm-up-set width=768 (its size and model should be those requests will use). Repeatable.",
            HelpName = "NAME=VALUE",
        };
        var cluster = ClusterOptions.Cluster(required: false);
        var siloPort = ClusterOptions.SiloPort(11111);
        var command = new Command("serve", "Serve the HTTP API (runs, history, workflows, outputs) until Ctrl+C.") { urls, apiKey, noKey, warmUp, warmUpSet, cluster, siloPort, ClusterOptions.Advertise };
        CommandAction.Set(command, async (parse, cancellationToken) =>
        {
            var addresses = (parse.GetValue(urls) ?? ServerOptions.DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var settings = ConfigPairs.Parse(parse.GetValue(GlobalOptions.Config) ?? []).ToList();
            if (parse.GetValue(apiKey) is { Length: > 0 } key) settings.Add(new(ServerOptions.Section + ":ApiKey", key));
            if (parse.GetValue(warmUp) is { Length: > 0 } warmUpName) settings.Add(new(ServerOptions.Section + ":WarmUp", warmUpName));
            foreach (var assignment in parse.GetValue(warmUpSet) ?? [])
            {
                var split = assignment.IndexOf('=');
                if (split <= 0) throw new UsageException($"--warm-up-set {assignment}: expected NAME=VALUE, e.g. --warm-up-set width=768");
                settings.Add(new($"{ServerOptions.Section}:WarmUpInputs:{assignment[..split]}", assignment[(split + 1)..]));
            }
            var extraPlugins = (parse.GetValue(GlobalOptions.Plugins) ?? []).Select(Path.GetFullPath).ToList();
            // Relative folders and run paths resolve against the installation's home unless configuration names a working folder.
            InstallationHome? home = null;
            const string workingFolder = ServerOptions.Section + ":WorkingFolder";
            if (!settings.Any(s => s.Key == workingFolder) && Environment.GetEnvironmentVariable("FLOWDIFFUSION_" + workingFolder.Replace(":", "__", StringComparison.Ordinal)) is null)
            {
                try
                {
                    home = InstallationHome.Find(settings.LastOrDefault(s => s.Key == InstallationHome.ConfigurationKey).Value);
                    if (home is not null)
                    {
                        settings.Add(new(workingFolder, home.Folder));
                        Console.Error.WriteLine($"FlowDiffusion home: {home.Folder} ({home.FoundBy})");
                    }
                }
                catch (DirectoryNotFoundException e)
                {
                    throw new UsageException(e.Message);
                }
            }
            WebApplication app;
            try
            {
                app = ServerHost.Create(addresses, settings, parse.GetValue(noKey), services =>
                {
                    services.AddComfyCompatibility().PostConfigure<FlowDiffusionOptions>(o =>
                    {
                        o.PluginFolders.AddRange(extraPlugins);
                        if (!o.PluginFolders.Any(Directory.Exists))
                            o.PluginFolders.Add(Path.Combine(AppContext.BaseDirectory, "plugins"));
                    });
                    if (parse.GetValue(cluster) is { Length: > 0 } membership)
                        ServeCluster.AddCoordinator(services, membership, parse.GetValue(siloPort), parse.GetValue(ClusterOptions.Advertise));
                });
                app.MapComfyApi();
                app.MapA1111Api();
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                throw new UsageException(e.Message);
            }
            await using (app)
            {
                var engine = app.Services.GetRequiredService<FlowDiffusionEngine>();
                if (InstallationHome.NoPluginsWarning(engine.Plugins.Plugins.Count, engine.Options.PluginFolders, home) is { } warning)
                    Console.Error.WriteLine("warning: " + warning);
                await app.StartAsync(cancellationToken);
                Console.Error.WriteLine($"FlowDiffusion API listening on {string.Join(", ", app.Urls)} (OpenAPI at /openapi/v1.json); Ctrl+C stops.");
                await app.WaitForShutdownAsync(cancellationToken);
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
