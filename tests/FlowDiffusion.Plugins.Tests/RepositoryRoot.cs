namespace FlowDiffusion.Plugins.Tests;

/// <summary>Finds the checkout: the folder holding FlowDiffusion.sln, walking up from the test binaries.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    /// <summary>The Stable Diffusion pack as its build deploys it.</summary>
    public static string StableDiffusionPlugin => Combine("plugins", "FlowDiffusion.Nodes.StableDiffusion");

    public static string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
    }
}
