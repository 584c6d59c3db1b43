namespace FlowDiffusion.Engine.Tests;

public sealed class TestPackTests
{
    [Fact]
    public void Test_pack_loads_as_a_plugin_with_its_node_types()
    {
        var plugin = Assert.Single(TestPack.Plugins.Plugins, p => p.Manifest.Id == TestPack.PluginId);
        Assert.Equal(
            ["test.add", "test.corrupt_output", "test.delay", "test.hang", "test.label", "test.multiply", "test.number", "test.random", "test.rendezvous", "test.run_order", "test.sink", "test.text", "test.throw"],
            plugin.Nodes.Select(n => n.Id).Order(StringComparer.Ordinal));
        Assert.All(plugin.Nodes, n => Assert.Equal(TestPack.PluginId, n.Plugin));
    }
}
