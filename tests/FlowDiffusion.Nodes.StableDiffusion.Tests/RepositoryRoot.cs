namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Finds the checkout: the folder holding FlowDiffusion.sln, walking up from the test binaries.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    /// <summary>The folder hosts load plugins from; the node pack's build deploys itself there.</summary>
    public static string Plugins => System.IO.Path.Combine(Path, "plugins");

    /// <summary>Where the conditioning test pack (tests/FlowDiffusion.TestConditioning) deploys itself.</summary>
    public static string ConditioningPlugins => System.IO.Path.Combine(Path, "artifacts", "conditioning-plugins");

    public static string Workflow(string name) => System.IO.Path.Combine(Path, "workflows", name);

    public static string Model(string name) => System.IO.Path.Combine(Path, "models", name);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
    }
}
