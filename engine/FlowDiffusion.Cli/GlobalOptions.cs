using System.CommandLine;

namespace FlowDiffusion.Cli;

/// <summary>Options every command takes.</summary>
internal static class GlobalOptions
{
    public static readonly Option<string[]> Plugins = new("--plugins")
    {
        Description = "Also load plugins from DIR (a folder of plugin folders, or one plugin folder). Repeatable.",
        HelpName = "DIR",
        Recursive = true,
        AllowMultipleArgumentsPerToken = false,
    };

    public static readonly Option<string[]> Config = new("--config")
    {
        Description = "Set a configuration value, e.g. --config FlowDiffusion:MaxConcurrency=2. Repeatable.",
        HelpName = "KEY=VALUE",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Log plugin loading and model sessions to stderr.",
        Recursive = true,
    };
}
