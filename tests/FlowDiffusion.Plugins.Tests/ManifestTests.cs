using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Plugins;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>The manifest of a real built pack decides whether it loads.</summary>
public sealed class ManifestTests
{
    [Fact]
    public void Built_pack_with_an_incompatible_sdk_range_is_refused_with_what_to_do()
    {
        var root = TestHost.RootWith(("future", PluginBuilds.OfflineBuilt.Sample));
        Rewrite(Path.Combine(root, "future"), m => m["sdk"] = ">=1.0.0 <2.0.0");

        var set = new PluginHost().Load([root]);

        Assert.Empty(set.Plugins);
        var error = Assert.Single(set.Errors);
        Assert.Equal("samples.guidance", error.Plugin);
        Assert.Equal($"needs FlowDiffusion SDK >=1.0.0 <2.0.0, but this host has SDK {PackedSdk.Version}; install a plugin version built for this SDK", error.Cause);
        Assert.Null(set.Catalog.Find("guidance.colour"));
    }

    [Fact]
    public void Built_pack_with_a_caret_range_covering_this_sdk_loads_and_keeps_its_description_and_author()
    {
        var root = TestHost.RootWith(("caret", PluginBuilds.OfflineBuilt.Sample));
        Rewrite(Path.Combine(root, "caret"), m => m["sdk"] = "^" + PackedSdk.Version);

        var set = new PluginHost().Load([root]);

        Assert.Empty(set.Errors);
        var plugin = Assert.Single(set.Plugins);
        Assert.Equal("FlowDiffusion samples", plugin.Manifest.Author);
        Assert.StartsWith("Sample guiders from the seed notebooks", plugin.Manifest.Description);
    }

    [Fact]
    public void Built_pack_whose_manifest_names_no_sdk_range_is_refused_naming_the_missing_field()
    {
        var root = TestHost.RootWith(("no-range", PluginBuilds.OfflineBuilt.Sample));
        Rewrite(Path.Combine(root, "no-range"), m => m.Remove("sdk"));

        var error = Assert.Single(new PluginHost().Load([root]).Errors);

        Assert.EndsWith("plugin.json: the plugin manifest lacks sdk", error.Cause);
    }

    private static void Rewrite(string folder, Action<JsonObject> change)
    {
        var path = Path.Combine(folder, PluginManifest.FileName);
        var manifest = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        change(manifest);
        File.WriteAllText(path, manifest.ToJsonString());
    }
}
