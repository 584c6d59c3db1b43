using FlowDiffusion.Engine.Plugins;

namespace FlowDiffusion.Engine.Tests.Plugins;

/// <summary>Each broken plugin folder is reported with its plugin and cause and skipped, while a good pack beside it loads.</summary>
public sealed class PluginIsolationTests : IDisposable
{
    private const string Good = "a-good";
    private const int TestPackNodes = 13;
    private readonly TempFolder _scratch = new();
    private readonly PluginFolders _folders;

    public PluginIsolationTests()
    {
        _folders = new PluginFolders(_scratch.Path);
        _folders.CopyOfTestPack(Good);
    }

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void Corrupt_assembly_is_reported_and_skipped()
    {
        var folder = _folders.CopyOfTestPack("b-corrupt", m => m["id"] = "broken.corrupt");
        File.WriteAllBytes(Path.Combine(folder, "FlowDiffusion.TestNodes.dll"), [(byte)'M', (byte)'Z', .. Enumerable.Range(0, 4096).Select(i => (byte)(i * 31))]);

        var error = LoadExpectingOneBroken("broken.corrupt");

        Assert.StartsWith("'FlowDiffusion.TestNodes.dll' is not a valid .NET assembly", error.Cause);
    }

    [Fact]
    public void Missing_assembly_is_reported_and_skipped()
    {
        _folders.CopyOfTestPack("b-missing", m =>
        {
            m["id"] = "broken.missing";
            m["assembly"] = "FlowDiffusion.NotThere.dll";
        });

        var error = LoadExpectingOneBroken("broken.missing");

        Assert.Equal("its assembly 'FlowDiffusion.NotThere.dll' is missing from the folder", error.Cause);
    }

    [Fact]
    public void Missing_dependency_is_reported_and_skipped()
    {
        MissingDependencyPlugin.Write(Path.Combine(_scratch.Path, "b-needs-gadget"), withDependency: false);

        var error = LoadExpectingOneBroken("sample.needs-gadget");

        Assert.StartsWith($"types of '{MissingDependencyPlugin.Assembly}' could not be loaded — a dependency is missing or incompatible: ", error.Cause);
        Assert.Contains(MissingDependencyPlugin.DependencyName, error.Cause);
    }

    [Fact]
    public void Same_plugin_loads_when_its_dependency_is_present()
    {
        MissingDependencyPlugin.Write(Path.Combine(_scratch.Path, "b-needs-gadget"), withDependency: true);

        var set = new PluginHost().Load([_scratch.Path]);

        Assert.Equal(["node skipped: the constructor of node 'test.broken_constructor'"], set.Errors.Select(e => e.Cause[..63]));
        Assert.NotNull(set.Catalog.Find(MissingDependencyPlugin.NodeId));
        Assert.Equal("sample.needs-gadget", set.Catalog.Find(MissingDependencyPlugin.NodeId)!.Plugin);
    }

    [Fact]
    public void Incompatible_sdk_range_is_reported_and_skipped()
    {
        _folders.CopyOfTestPack("b-future", m =>
        {
            m["id"] = "broken.future";
            m["sdk"] = ">=2.0.0 <3.0.0";
        });

        var error = LoadExpectingOneBroken("broken.future");

        Assert.Equal($"needs FlowDiffusion SDK >=2.0.0 <3.0.0, but this host has SDK {PluginHost.SdkVersion.ToString(3)}; install a plugin version built for this SDK", error.Cause);
    }

    [Fact]
    public void Unparsable_sdk_range_is_reported_and_skipped()
    {
        _folders.CopyOfTestPack("b-range", m =>
        {
            m["id"] = "broken.range";
            m["sdk"] = "any recent one";
        });

        var error = LoadExpectingOneBroken("broken.range");

        Assert.Equal("the manifest's sdk range 'any recent one' is not a version range such as '>=0.1.0 <1.0.0'", error.Cause);
    }

    [Fact]
    public void Malformed_manifest_is_reported_under_the_folder_name()
    {
        var folder = _folders.WithManifest("b-malformed", """{ "id": "broken.malformed", "version": """);

        var error = LoadExpectingOneBroken("b-malformed");

        Assert.StartsWith($"{Path.Combine(folder, "plugin.json")}: malformed plugin manifest: ", error.Cause);
    }

    [Fact]
    public void Incomplete_manifest_names_the_missing_fields()
    {
        var folder = _folders.WithManifest("b-incomplete", """{ "id": "broken.incomplete" }""");

        var error = LoadExpectingOneBroken("b-incomplete");

        Assert.Equal($"{Path.Combine(folder, "plugin.json")}: the plugin manifest lacks sdk, assembly", error.Cause);
    }

    [Fact]
    public void Duplicate_node_ids_are_reported_and_the_first_registration_wins()
    {
        _folders.CopyOfTestPack("b-copy", m => m["id"] = "copy.test-nodes");

        var set = new PluginHost().Load([_scratch.Path]);

        var duplicates = set.Errors.Where(e => e.Plugin == "copy.test-nodes").Select(e => e.Cause).ToList();
        Assert.Equal(TestPackNodes, duplicates.Count(c => c.EndsWith("is already registered by plugin 'flowdiffusion.test-nodes'; this plugin's node was skipped", StringComparison.Ordinal)));
        Assert.Contains("node id 'test.add' is already registered by plugin 'flowdiffusion.test-nodes'; this plugin's node was skipped", duplicates);
        Assert.Empty(set.Plugins.Single(p => p.Manifest.Id == "copy.test-nodes").Nodes);
        Assert.Equal(TestPack.PluginId, set.Catalog.Find("test.add")!.Plugin);
        Assert.Equal(TestPackNodes, set.Catalog.Count);
    }

    [Fact]
    public void Node_whose_constructor_throws_is_reported_and_the_rest_of_its_pack_loads()
    {
        var set = new PluginHost().Load([_scratch.Path]);

        var error = Assert.Single(set.Errors);
        Assert.Equal(TestPack.PluginId, error.Plugin);
        Assert.Equal(Path.Combine(_scratch.Path, Good), error.Folder);
        Assert.Equal("node skipped: the constructor of node 'test.broken_constructor' (FlowDiffusion.TestNodes.BrokenConstructorNode) threw: constructor failure on purpose", error.Cause);
        Assert.Null(set.Catalog.Find("test.broken_constructor"));
        Assert.Equal(TestPackNodes, set.Catalog.Count);
    }

    [Fact]
    public void Every_broken_folder_at_once_leaves_the_good_pack_loaded()
    {
        File.WriteAllBytes(Path.Combine(_folders.CopyOfTestPack("b-corrupt", m => m["id"] = "broken.corrupt"), "FlowDiffusion.TestNodes.dll"), [1, 2, 3]);
        _folders.CopyOfTestPack("c-future", m => (m["id"], m["sdk"]) = ("broken.future", "^9.0.0"));
        _folders.WithManifest("d-malformed", "not json");
        MissingDependencyPlugin.Write(Path.Combine(_scratch.Path, "e-needs-gadget"), withDependency: false);
        _folders.CopyOfTestPack("f-copy", m => m["id"] = "copy.test-nodes");

        var set = new PluginHost().Load([_scratch.Path]);

        Assert.Equal(["broken.corrupt", "broken.future", "copy.test-nodes", "d-malformed", TestPack.PluginId, "sample.needs-gadget"],
            set.Errors.Select(e => e.Plugin).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal([TestPack.PluginId, "copy.test-nodes"], set.Plugins.Select(p => p.Manifest.Id));
        Assert.Equal(TestPackNodes, set.Catalog.Count);
    }

    [Fact]
    public void Missing_plugin_root_is_skipped_silently()
    {
        var set = new PluginHost().Load([Path.Combine(_scratch.Path, "does-not-exist"), _scratch.Path]);

        Assert.Equal(TestPackNodes, set.Catalog.Count);
    }

    // Loads the scratch root and checks the good pack survived; returns the one error of the broken plugin.
    private PluginLoadError LoadExpectingOneBroken(string plugin)
    {
        var set = new PluginHost().Load([_scratch.Path]);

        Assert.Equal([TestPack.PluginId], set.Plugins.Select(p => p.Manifest.Id));
        Assert.Equal(TestPackNodes, set.Catalog.Count);
        Assert.NotNull(set.Catalog.Find("test.multiply"));
        Assert.DoesNotContain(set.Errors, e => e.Plugin != plugin && e.Plugin != TestPack.PluginId);
        var error = Assert.Single(set.Errors, e => e.Plugin == plugin);
        Assert.StartsWith(_scratch.Path, error.Folder);
        Assert.Contains($"plugin '{plugin}' ({error.Folder}): {error.Cause}", error.ToString());
        return error;
    }
}
