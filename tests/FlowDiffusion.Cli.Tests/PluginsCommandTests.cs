using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Tests;

/// <summary><c>flowdiffusion plugins</c>: every loaded pack with its manifest and nodes, and every pack that was refused, with why.</summary>
public sealed class PluginsCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fd-cli-plugins-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Plugins_lists_each_pack_with_author_description_and_nodes_and_the_refused_pack_with_its_cause()
    {
        var testNodes = Path.Combine(Cli.RepoRoot, "artifacts", "test-plugins", "test-nodes");
        var good = Copy(testNodes, Path.Combine(_root, "good"));
        var future = Copy(testNodes, Path.Combine(_root, "future"));
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(future, "plugin.json")))!.AsObject();
        manifest["id"] = "tests.future";
        manifest["sdk"] = ">=9.0.0 <10.0.0";
        File.WriteAllText(Path.Combine(future, "plugin.json"), manifest.ToJsonString());

        var (exit, stdout, stderr) = Cli.Run("plugins", "--plugins", _root);

        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.TrimEntries);
        var header = Array.FindIndex(lines, l => l.StartsWith("flowdiffusion.test-nodes ", StringComparison.Ordinal));
        Assert.True(header >= 0, stdout);
        Assert.Equal($"flowdiffusion.test-nodes 1.0.0 by FlowDiffusion (sdk >=0.1.0 <1.0.0) — {good}", lines[header]);
        Assert.Equal("Arithmetic, string and delay nodes for the engine's tests.", lines[header + 1]);
        Assert.StartsWith("nodes: ", lines[header + 2]);
        Assert.Contains("test.add", lines[header + 2].Split(": ")[1].Split(", "));
        Assert.Contains("test.sink", lines[header + 2].Split(": ")[1].Split(", "));
        var error = Assert.Single(lines, l => l.StartsWith("error: plugin 'tests.future'", StringComparison.Ordinal));
        Assert.Equal($"error: plugin 'tests.future' ({future}): needs FlowDiffusion SDK >=9.0.0 <10.0.0, but this host has SDK {HostSdkVersion()}; " +
            "install a plugin version built for this SDK", error);
    }

    [Fact]
    public void Built_in_pack_is_unloadable_in_the_cli_which_carries_its_skiasharp_and_onnx_runtime()
    {
        // Unloading old builds is off by default (FlowDiffusion:UnloadPluginBuilds); this is the CLI with it on.
        var (exit, stdout, stderr) = Cli.RunWith(new Dictionary<string, string> { ["FLOWDIFFUSION_FlowDiffusion__UnloadPluginBuilds"] = "true" }, "plugins");

        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.TrimEntries);
        var header = Array.FindIndex(lines, l => l.StartsWith("flowdiffusion.stable-diffusion ", StringComparison.Ordinal));
        Assert.True(header >= 0, stdout);
        var block = lines.Skip(header + 1).TakeWhile(l => l.StartsWith("nodes: ", StringComparison.Ordinal) || l.StartsWith("not unloadable", StringComparison.Ordinal) || !l.Contains(" — ", StringComparison.Ordinal)).Take(3);
        Assert.DoesNotContain(block, l => l.StartsWith("not unloadable", StringComparison.Ordinal));
    }

    private static string Copy(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return target;
    }

    // The SDK the CLI ships with, read from its binary folder.
    private static string HostSdkVersion()
    {
        var sdk = Directory.GetFiles(Path.Combine(Cli.RepoRoot, "engine", "FlowDiffusion.Cli", "bin"), "FlowDiffusion.Sdk.dll", SearchOption.AllDirectories)
            .OrderByDescending(File.GetLastWriteTimeUtc).First();
        return System.Reflection.AssemblyName.GetAssemblyName(sdk).Version!.ToString(3);
    }
}
