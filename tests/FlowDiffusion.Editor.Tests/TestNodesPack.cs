namespace FlowDiffusion.Editor.Tests;

/// <summary>The test node pack (test.number, test.add, …) dropped into a plugin root as a user would drop in a new pack.</summary>
internal static class TestNodesPack
{
    /// <summary>A workflow made only of the pack's nodes: 2 + 3.</summary>
    public const string Arithmetic = """
        flowdiffusion: 1
        name: arithmetic
        nodes:
          a: { node: test.number, with: { value: 2 } }
          b: { node: test.number, with: { value: 3 } }
          sum: { node: test.add, in: { a: a.result, b: b.result } }
        """;

    /// <summary>
    /// Puts the pack's built folder under <paramref name="pluginRoot"/> as test-nodes/ in one step: copied beside
    /// <paramref name="staging"/> first, then moved in, so a watcher never sees half a pack.
    /// </summary>
    public static string DropInto(string pluginRoot, string staging)
    {
        var copy = Path.Combine(staging, "test-nodes");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.EnumerateFiles(RepositoryRoot.TestNodesPlugin))
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var target = Path.Combine(pluginRoot, "test-nodes");
        Directory.Move(copy, target);
        return target;
    }
}
