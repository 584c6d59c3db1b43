using System.CommandLine;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Cli;

/// <summary>
/// The generic host behind the CLI commands: configuration from appsettings.json (next to the binary, then the
/// current folder), FLOWDIFFUSION_ environment variables and --config, with --plugins folders added.
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
        var extra = parse.GetValue(GlobalOptions.Plugins) ?? [];
        builder.Services.PostConfigure<FlowDiffusionOptions>(o =>
        {
            o.PluginFolders.AddRange(extra);
            if (!o.PluginFolders.Any(Directory.Exists))
                o.PluginFolders.Add(Path.Combine(AppContext.BaseDirectory, "plugins"));
        });
        return builder.Build();
    }

    public static FlowDiffusionEngine Engine(this IHost host) => host.Services.GetRequiredService<FlowDiffusionEngine>();

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
