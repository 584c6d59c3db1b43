namespace FlowDiffusion.Editor.Tests;

/// <summary>Finds the checkout: the folder holding FlowDiffusion.sln, walking up from the test binaries.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    public static string Plugins => System.IO.Path.Combine(Path, "plugins");

    public static string Workflows => System.IO.Path.Combine(Path, "workflows");

    /// <summary>The test node pack (test.number, test.add, …) as its build deploys it: a plugin folder to copy into a watched one.</summary>
    public static string TestNodesPlugin => System.IO.Path.Combine(Path, "artifacts", "test-plugins", "test-nodes");

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
    }
}
