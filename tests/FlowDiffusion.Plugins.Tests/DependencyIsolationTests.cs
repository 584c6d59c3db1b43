namespace FlowDiffusion.Plugins.Tests;

/// <summary>Each plugin gets its own load context, so two packs can depend on different versions of one library.</summary>
public sealed class DependencyIsolationTests
{
    [Fact]
    public async Task Packs_needing_newtonsoft_12_and_13_load_side_by_side_and_each_uses_its_own()
    {
        var packs = PluginBuilds.JsonBuilt;
        using var host = new TestHost(TestHost.RootWith(("json12", packs.Json12), ("json13", packs.Json13)));

        var result = TestHost.Completed(await host.RunAsync("""
            flowdiffusion: 1
            name: two-jsons
            nodes:
              twelve: { node: json12.version }
              thirteen: { node: json13.version }
            """));

        Assert.Empty(host.Engine.Plugins.Errors);
        Assert.Equal("12.0.0.0 {\"ok\":true}", result.Output("twelve", "version"));
        Assert.Equal("13.0.0.0 {\"ok\":true}", result.Output("thirteen", "version"));
    }
}
