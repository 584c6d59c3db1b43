using System.CommandLine;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Cli;

/// <summary>
/// The generic host behind the CLI commands: configuration from appsettings.json (next to the binary, then the
/// current folder), FLOWDIFFUSION_ environment variables and --config, with --plugins folders added. The plugin, models and
/// workflows folders resolve against the installation's home (<see cref="InstallationHome"/>), so the CLI finds its
/// plugins from any folder; --plugins and the output folder stay relative to the current folder.
/// </summary>
internal static class CliHost
{
    public static IHost Build(ParseResult parse)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = Environment.CurrentDirectory,
            DisableDefaults = true,
        });
        builder.Configuration
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(Environment.CurrentDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables("FLOWDIFFUSION_")
            .AddInMemoryCollection(ConfigPairs(parse.GetValue(GlobalOptions.Config) ?? []));
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(parse.GetValue(GlobalOptions.Verbose) ? LogLevel.Information : LogLevel.Error);
        builder.Services.AddFlowDiffusion(builder.Configuration);
        InstallationHome? home;
        try
        {
            home = InstallationHome.Find(builder.Configuration[InstallationHome.ConfigurationKey]);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new UsageException(e.Message);
        }
        if (home is not null) builder.Services.AddSingleton(home);
        var extra = parse.GetValue(GlobalOptions.Plugins) ?? [];
        builder.Services.PostConfigure<FlowDiffusionOptions>(o =>
        {
            home?.Apply(o);
            o.PluginFolders.AddRange(extra.Select(Path.GetFullPath));
            if (!o.PluginFolders.Any(Directory.Exists))
                o.PluginFolders.Add(Path.Combine(AppContext.BaseDirectory, "plugins"));
        });
        return builder.Build();
    }

    /// <summary>The engine, with a warning on stderr when no plugin loaded (every command then knows no node type).</summary>
    public static FlowDiffusionEngine Engine(this IHost host)
    {
        var engine = host.Services.GetRequiredService<FlowDiffusionEngine>();
        if (InstallationHome.NoPluginsWarning(engine.Plugins.Plugins.Count, engine.Options.PluginFolders, host.Home()) is { } warning)
            Console.Error.WriteLine("warning: " + warning);
        return engine;
    }

    /// <summary>
    /// The workflow file <paramref name="path"/> names: the file itself when it exists, else a saved workflow of that name
    /// in the workflows folder (<c>flowdiffusion run txt2img</c> from any folder).
    /// </summary>
    public static string WorkflowFile(this IHost host, string path)
    {
        if (File.Exists(path) || path.Contains('/') || path.Contains('\\')) return path;
        var saved = Path.Combine(host.Services.GetRequiredService<FlowDiffusionEngine>().Options.WorkflowsFolder, path.EndsWith(".yaml", StringComparison.Ordinal) ? path : path + ".yaml");
        return File.Exists(saved) ? saved : path;
    }

    /// <summary>The installation's home, or null when none was found.</summary>
    public static InstallationHome? Home(this IHost host) => host.Services.GetService<InstallationHome>();

    private static IEnumerable<KeyValuePair<string, string?>> ConfigPairs(IEnumerable<string> pairs)
    {
        foreach (var pair in pairs)
        {
            var split = pair.IndexOf('=');
            if (split <= 0) throw new UsageException($"--config {pair}: expected KEY=VALUE");
            yield return new(pair[..split], pair[(split + 1)..]);
        }
    }
}
