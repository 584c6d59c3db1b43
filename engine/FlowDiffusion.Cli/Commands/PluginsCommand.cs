using System.CommandLine;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion plugins</c>: loaded plugins, their nodes, and load errors.</summary>
internal static class PluginsCommand
{
    public static Command Create()
    {
        var command = new Command("plugins", "List loaded plugins with their nodes, and the plugins or nodes that failed to load.");
        CommandAction.Set(command, (parse, _) =>
        {
            using var host = CliHost.Build(parse);
            var engine = host.Engine();
            var plugins = engine.Plugins;
            foreach (var plugin in plugins.Plugins)
            {
                var author = plugin.Manifest.Author.Length > 0 ? $" by {plugin.Manifest.Author}" : "";
                Console.WriteLine($"{plugin.Manifest.Id} {plugin.Manifest.Version}{author} (sdk {plugin.Manifest.Sdk}) — {plugin.Folder}");
                if (plugin.Manifest.Description.Length > 0) Console.WriteLine($"  {plugin.Manifest.Description}");
                Console.WriteLine($"  nodes: {string.Join(", ", plugin.Nodes.Select(n => n.Id))}");
                if (plugin.UnloadingOn && !plugin.Unloadable)
                    Console.WriteLine($"  not unloadable (a rebuild's old build stays loaded until restart): brings {string.Join(", ", plugin.OwnNativeLibraries!)}");
            }
            foreach (var error in plugins.Errors)
                Console.WriteLine($"error: {error}");
            if (plugins.Plugins.Count == 0)
                Console.WriteLine($"No plugins loaded from: {string.Join(", ", engine.Options.PluginFolders)}");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
