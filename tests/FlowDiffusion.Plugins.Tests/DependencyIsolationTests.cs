namespace FlowDiffusion.Plugins.Tests;

/// <summary>
/// Each plugin gets its own load context, so two packs can depend on different versions of one library, and a pack
/// gets its own version of a library the host also uses: only the SDK and the abstractions it exposes are shared.
/// </summary>
public sealed class DependencyIsolationTests
{
    [Fact]
    public async Task Packs_needing_newtonsoft_12_and_13_load_side_by_side_and_each_uses_its_own()
    {
        var packs = PluginBuilds.PinnedBuilt;
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

    [Fact]
    public async Task Pack_pinned_to_an_older_version_of_a_library_the_host_uses_gets_its_own_version()
    {
        var hostYaml = typeof(YamlDotNet.RepresentationModel.YamlStream).Assembly.GetName().Version!;
        using var host = new TestHost(TestHost.RootWith(("yaml16", PluginBuilds.PinnedBuilt.Yaml16)));

        var result = TestHost.Completed(await host.RunAsync("""
            flowdiffusion: 1
            name: own-yaml
            nodes:
              yaml: { node: yaml16.version }
            """));

        Assert.Empty(host.Engine.Plugins.Errors);
        Assert.Equal(18, hostYaml.Major);
        Assert.Equal("16.0.0.0 answer=42", result.Output("yaml", "version"));
    }
}
