namespace FlowDiffusion.Server.Tests;

/// <summary>Finds the checkout: the folder holding FlowDiffusion.sln, walking up from the test binaries.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    /// <summary>Where the test node pack is deployed as a plugin folder by its build.</summary>
    public static string TestPlugins => System.IO.Path.Combine(Path, "artifacts", "test-plugins");

    /// <summary>
    /// Host settings for runs on the real SD node pack: plugins, models and saved workflows of the checkout, relative
    /// paths (a model input such as models/analytic-sd) resolved against it.
    /// </summary>
    public static (string Key, string Value)[] StableDiffusionSettings =>
    [
        ("FlowDiffusion:Server:WorkingFolder", Path),
        ("FlowDiffusion:PluginFolders:0", "plugins"),
        ("FlowDiffusion:WorkflowsFolder", "workflows"),
    ];

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
    }
}
