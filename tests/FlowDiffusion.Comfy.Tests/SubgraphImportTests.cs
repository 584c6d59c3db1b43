using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// Editor workflows with subgraphs (ComfyUI's <c>definitions.subgraphs</c>): inlined as ComfyUI queues them, with
/// ids instance:inner, links through the subgraph's input (−10) and output (−20) nodes, promoted widgets, nesting, and
/// bounds on nesting.
/// </summary>
public sealed class SubgraphImportTests
{
    private static readonly ComfyFolders Folders = new(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

    private static JsonObject Ui => (JsonObject)JsonNode.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "subgraph-ui.json")))!;

    [Fact]
    public void A_subgraph_instance_is_inlined_with_its_links_promoted_widgets_and_position()
    {
        var (conversion, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(Ui.ToJsonString()), "subgraph", Folders);

        Assert.Empty(problems);
        var workflow = conversion!.Workflow!;
        var sampler = workflow.Node(ApiPromptConverter.NodeId("10:3"))!;
        Assert.Equal("diffusion.ksampler", sampler.Type);
        // The -1 promoted widget: the instance's seed widget, fed through the subgraph's seed input.
        Assert.Equal(7L, ((LiteralValue)sampler.Parameter("seed")!.Value).Value);
        Assert.Equal(4L, ((LiteralValue)sampler.Parameter("steps")!.Value).Value);
        Assert.Equal(ApiPromptConverter.NodeId("5"), sampler.Edge("latent_image")!.SourceNode); // through the -10 node
        // The promoted text replaces the inner widget's; the negative keeps its own.
        Assert.Equal("a green ball", Text(workflow, "10:1"));
        Assert.Equal("", Text(workflow, "10:2"));
        Assert.Equal(ApiPromptConverter.NodeId("4"), workflow.Node(ApiPromptConverter.NodeId("10:1", "tokens"))!.Edge("tokenizer")!.SourceNode);
        // The decoder reads the instance's output: the inner KSampler, through the -20 node.
        Assert.Equal(ApiPromptConverter.NodeId("10:3"), workflow.Node(ApiPromptConverter.NodeId("8"))!.Edge("latent")!.SourceNode);
        // Inner nodes sit where the instance was: the subgraph's top-left node (200, 100) at (400, 300).
        var positions = workflow.Editor!.Positions.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(new NodePosition(400, 300), positions[ApiPromptConverter.NodeId("10:1")]);
        Assert.Equal(new NodePosition(800, 350), positions[ApiPromptConverter.NodeId("10:3")]);
    }

    [Fact]
    public async Task The_inlined_graph_runs_and_draws_the_promoted_prompts_colour()
    {
        var (prompt, _, _, problems) = UiWorkflowConverter.Convert(Ui, Folders);
        Assert.Empty(problems);
        await using var host = await ComfyHost.StartAsync();

        var (r, g, b) = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(r < 0.02 && g > 0.98 && b < 0.02, $"the promoted 'a green ball': ({r:F3}, {g:F3}, {b:F3}); the inner 'a red ball' would be red");
    }

    [Fact]
    public void Nested_subgraphs_are_inlined_with_their_ids_chained()
    {
        // An outer subgraph whose only node is an instance of the sample subgraph, its inputs and output passed through.
        var ui = Ui;
        var inner = ui["definitions"]!["subgraphs"]![0]!;
        var outerId = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
        var outer = new JsonObject
        {
            ["id"] = outerId, ["name"] = "Wrapper",
            ["inputs"] = new JsonArray(Input("model"), Input("clip"), Input("latent")), ["outputs"] = new JsonArray(Input("LATENT")),
            ["nodes"] = new JsonArray(new JsonObject
            {
                ["id"] = 7, ["type"] = inner["id"]!.GetValue<string>(), ["pos"] = new JsonArray(0, 0), ["mode"] = 0,
                ["inputs"] = new JsonArray(Slot("model", 201), Slot("clip", 202), Slot("latent", 203)),
                ["properties"] = new JsonObject { ["proxyWidgets"] = new JsonArray(new JsonArray("1", "text")) }, ["widgets_values"] = new JsonArray("a blue ball"),
            }),
            ["links"] = new JsonArray(Link(201, -10, 0, 7, 0), Link(202, -10, 1, 7, 1), Link(203, -10, 2, 7, 2), Link(204, 7, 0, -20, 0)),
        };
        ui["definitions"]!["subgraphs"]!.AsArray().Add(outer);
        ui["nodes"]!.AsArray().OfType<JsonObject>().Single(n => n["id"]!.GetValue<int>() == 10)["type"] = outerId;

        var (conversion, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui.ToJsonString()), "nested", Folders);

        Assert.Empty(problems);
        var workflow = conversion!.Workflow!;
        Assert.Equal("a blue ball", Text(workflow, "10:7:1"));
        Assert.Equal(ApiPromptConverter.NodeId("10:7:3"), workflow.Node(ApiPromptConverter.NodeId("8"))!.Edge("latent")!.SourceNode);
        Assert.Equal(ApiPromptConverter.NodeId("4"), workflow.Node(ApiPromptConverter.NodeId("10:7:3"))!.Edge("unet")?.SourceNode
            ?? workflow.Nodes.Single(n => n.Type == "unet.denoiser").Edge("unet")!.SourceNode);
    }

    [Fact]
    public void A_subgraph_that_contains_itself_is_a_problem_naming_the_depth_not_a_hang()
    {
        var ui = Ui;
        var definition = ui["definitions"]!["subgraphs"]![0]!.AsObject();
        definition["nodes"]!.AsArray().Add(new JsonObject { ["id"] = 50, ["type"] = definition["id"]!.GetValue<string>(), ["mode"] = 0 });

        var (_, problems) = ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(ui.ToJsonString()), "recursive", Folders);

        // Instance 10, then 15 instances of itself inside, and the 16th is refused.
        var path = "10:" + string.Concat(Enumerable.Repeat("50:", 15)) + "50";
        Assert.Contains(problems, p => p.StartsWith($"node {path}: subgraphs nest more than 16 deep", StringComparison.Ordinal));
    }

    private static string Text(Workflow workflow, string comfyId) =>
        (string)((LiteralValue)workflow.Node(ApiPromptConverter.NodeId(comfyId, "tokens"))!.Parameter("text")!.Value).Value!;

    private static JsonObject Input(string name) => new() { ["name"] = name };

    private static JsonObject Slot(string name, int link) => new() { ["name"] = name, ["link"] = link };

    private static JsonObject Link(int id, int origin, int originSlot, int target, int targetSlot) =>
        new() { ["id"] = id, ["origin_id"] = origin, ["origin_slot"] = originSlot, ["target_id"] = target, ["target_slot"] = targetSlot };
}
