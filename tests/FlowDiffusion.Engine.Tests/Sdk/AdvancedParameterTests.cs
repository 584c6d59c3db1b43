using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Engine.Tests.Sdk;

/// <summary>
/// <see cref="ParameterAttribute.Advanced"/>: off unless a declaration sets it, carried into the descriptor and the node
/// schema JSON (<c>GET /api/nodes</c>) as <c>advanced: true</c>, absent for every other parameter, so packs that never
/// set it read exactly as before.
/// </summary>
public sealed class AdvancedParameterTests
{
    [Node("test.tuned", "1.0.0", Description = "A node with one everyday and two advanced parameters.")]
    public sealed class TunedNode : INode
    {
        [Parameter(Description = "Everyday.")]
        public double Strength { get; set; } = 1;

        [Parameter(Description = "Rarely changed.", Min = 0, Max = 1, Advanced = true)]
        public double Eta { get; set; } = 0.5;

        [Parameter(Description = "Rarely changed, explicitly not advanced.", Advanced = false)]
        public bool Fast { get; set; }

        [Parameter(Description = "A rarely changed choice.", Advanced = true)]
        public string Solver { get; set; } = "midpoint";

        public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [Fact]
    public void The_attribute_is_not_advanced_by_default()
    {
        Assert.False(new ParameterAttribute().Advanced);
        Assert.True(new ParameterAttribute { Advanced = true }.Advanced);
    }

    [Fact]
    public void Only_the_parameters_declared_advanced_are_advanced_in_the_descriptor()
    {
        var node = NodeDescriptorReader.Read(typeof(TunedNode), "test");

        Assert.Equal(["eta", "solver"], node.Parameters.Where(p => p.Advanced).Select(p => p.Name));
        Assert.Equal(["strength", "fast"], node.Parameters.Where(p => !p.Advanced).Select(p => p.Name));
        // Advanced changes nothing else about the parameter.
        var eta = node.Parameters.Single(p => p.Name == "eta");
        Assert.Equal((0.5, 0.0, 1.0), ((double)eta.Default!, eta.Min, eta.Max));
    }

    [Fact]
    public void The_schema_json_says_advanced_true_only_where_it_is()
    {
        var json = NodeSchemaJson.Node(NodeDescriptorReader.Read(typeof(TunedNode), "test"));
        var parameters = json["parameters"]!.AsArray().Select(p => p!.AsObject()).ToDictionary(p => (string)p["name"]!);

        Assert.True((bool)parameters["eta"]["advanced"]!);
        Assert.True((bool)parameters["solver"]["advanced"]!);
        Assert.False(parameters["strength"].ContainsKey("advanced"));
        Assert.False(parameters["fast"].ContainsKey("advanced"));
    }

    [Fact]
    public void A_pack_that_never_sets_it_has_no_advanced_parameter_and_no_advanced_key()
    {
        Assert.All(TestPack.Catalog.All.SelectMany(n => n.Parameters), p => Assert.False(p.Advanced, p.Name));
        Assert.DoesNotContain("\"advanced\"", NodeSchemaJson.Write(TestPack.Catalog).ToJsonString());
    }
}
