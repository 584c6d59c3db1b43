using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Graph;

/// <summary>
/// Groups, reroute points, collapse, pin and colours on the document: each an undoable edit saved in the editor
/// section, none of them touching the nodes and edges a run sees.
/// </summary>
public sealed class CanvasDecorationTests
{
    private static GraphDocument Txt2Img() =>
        new(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"))));

    [Fact]
    public void Group_drawn_around_the_selection_moves_its_nodes_and_leaves_pinned_and_outside_nodes()
    {
        var document = Txt2Img();
        var decodeAt = document.PositionOf("decode");
        var saveAt = document.PositionOf("save");

        var index = document.AddGroup(["decode", "save"], "Output", id => 120);
        var group = document.Groups[index];
        Assert.Equal(Math.Min(decodeAt.X, saveAt.X) - GraphDocument.GroupPadding, group.X);
        Assert.Equal(Math.Min(decodeAt.Y, saveAt.Y) - GraphDocument.GroupPadding - GraphDocument.GroupTitleHeight, group.Y);
        Assert.Equal(["decode", "save"], document.GroupMembers(index).Order(StringComparer.Ordinal));

        document.SetPinned(["save"], true);
        var modelAt = document.PositionOf("model");
        document.MoveGroup(index, 100, -50);

        Assert.Equal(new NodePosition(decodeAt.X + 100, decodeAt.Y - 50), document.PositionOf("decode"));
        Assert.Equal(saveAt, document.PositionOf("save"));
        Assert.Equal(modelAt, document.PositionOf("model"));
        Assert.Equal(group.X + 100, document.Groups[index].X);
        document.Undo();
        Assert.Equal(decodeAt, document.PositionOf("decode"));
        Assert.Equal(group, document.Groups[index]);
    }

    [Fact]
    public void Group_renamed_recoloured_and_removed_keeps_its_nodes_and_round_trips()
    {
        var document = Txt2Img();
        var index = document.AddGroup(["model"], "Loaders");
        document.RenameGroup(index, "  Models ");
        document.SetGroupColor(index, "#3f789e");

        var reread = WorkflowRoundTripTests.Read(document.ToYaml());
        Assert.Equal(document.Groups[index], Assert.Single(reread.Editor!.Groups!));
        Assert.Equal("Models", document.Groups[index].Title);

        var nodes = document.Workflow.Nodes.Count;
        document.RemoveGroup(index);
        Assert.Empty(document.Groups);
        Assert.Equal(nodes, document.Workflow.Nodes.Count);
        Assert.DoesNotContain("groups:", document.ToYaml());
        document.Undo();
        Assert.Equal("Models", Assert.Single(document.Groups).Title);
    }

    [Fact]
    public void Reroute_bends_a_link_without_changing_its_edge_and_goes_when_the_link_goes()
    {
        var document = Txt2Img();
        var nodesBefore = WorkflowYamlWriter.Write(document.Workflow with { Editor = null });

        var first = document.AddReroute("decode", "latent", 0, new NodePosition(900, 400))!;
        var second = document.AddReroute("decode", "latent", 1, new NodePosition(950, 420))!;
        var between = document.AddReroute("decode", "latent", 1, new NodePosition(920, 380))!;

        Assert.Equal([first, between, second], document.RouteOf("decode", "latent"));
        Assert.Equal(nodesBefore, WorkflowYamlWriter.Write(document.Workflow with { Editor = null }));
        var yaml = document.ToYaml();
        Assert.Contains($"  routes:\n    decode.latent: [{first}, {between}, {second}]\n", yaml);
        Assert.Equal(yaml, WorkflowYamlWriter.Write(WorkflowRoundTripTests.Read(yaml)));

        document.MoveReroute(between, new NodePosition(1000, 300));
        Assert.Equal(new NodePosition(1000, 300), document.Workflow.Editor!.RerouteAt(between));
        document.RemoveReroute(first);
        Assert.Equal([between, second], document.RouteOf("decode", "latent"));

        document.Disconnect("decode", "latent");
        Assert.Empty(document.Reroutes);
        Assert.DoesNotContain("routes:", document.ToYaml());
        document.Undo();
        Assert.Equal([between, second], document.RouteOf("decode", "latent"));
    }

    [Fact]
    public void Collapse_pin_and_colour_are_undoable_edits_that_survive_save_and_go_with_their_node()
    {
        var document = Txt2Img();
        var red = CanvasPalette.Colors[0].Node;

        document.SetCollapsed(["model", "positive"], true);
        document.SetPinned(["model"], true);
        document.SetColor(["positive"], red);

        var reread = new GraphDocument(document.Catalog, WorkflowRoundTripTests.Read(document.ToYaml()));
        Assert.True(reread.IsCollapsed("positive"));
        Assert.True(reread.IsPinned("model"));
        Assert.False(reread.IsPinned("positive"));
        Assert.Equal(red, reread.Workflow.Editor!.ColorOf("positive"));
        Assert.Equal(document.ToYaml(), reread.ToYaml());

        document.Undo();
        Assert.Null(document.Workflow.Editor!.ColorOf("positive"));
        document.SetCollapsed(["positive"], false);
        Assert.Equal(["model"], document.Workflow.Editor!.Collapsed!);

        document.RemoveNodes(["model"]);
        Assert.DoesNotContain("collapsed:", document.ToYaml());
        Assert.DoesNotContain("pinned:", document.ToYaml());
    }

    [Fact]
    public void A_collapsed_node_draws_its_links_to_the_middle_of_its_title_bar_on_its_narrowed_edge()
    {
        var at = new NodePosition(100, 200);

        Assert.Equal(new NodePosition(100, 200 + NodeLayout.HeaderHeight / 2), NodeLayout.InputPort(at, 3, collapsed: true));
        Assert.Equal(new NodePosition(100 + 96, 200 + NodeLayout.HeaderHeight / 2), NodeLayout.OutputPort(at, 0, collapsed: true, width: 96));
        Assert.Equal(new NodePosition(100, 200 + NodeLayout.HeaderHeight + 3.5 * NodeLayout.RowHeight), NodeLayout.InputPort(at, 3));
        Assert.Equal(new NodePosition(100 + NodeLayout.Width, 200 + NodeLayout.HeaderHeight + 0.5 * NodeLayout.RowHeight), NodeLayout.OutputPort(at, 0));
    }

    [Fact]
    public void A_collapsed_node_shrinks_to_its_title_and_groups_measure_it_so()
    {
        var document = Txt2Img();
        Assert.Equal(NodeLayout.Width, document.WidthOf("model"));

        document.SetCollapsed(["model"], true);
        var title = document.TitleOf("model");
        // 24 px of padding and 7.5 px a character, rounded up, never under the minimum nor over a full node.
        Assert.Equal(Math.Clamp(Math.Ceiling(24 + title.Length * 7.5), NodeLayout.CollapsedMinWidth, NodeLayout.Width), document.WidthOf("model"));
        Assert.True(document.WidthOf("model") < NodeLayout.Width, $"collapsed '{title}' is {document.WidthOf("model")} wide");
        document.SetTitle("model", "M");
        Assert.Equal(NodeLayout.CollapsedMinWidth, document.WidthOf("model"));
        document.SetTitle("model", new string('x', 200));
        Assert.Equal(NodeLayout.Width, document.WidthOf("model"));
        document.SetTitle("model", "Checkpoint");
        document.SetPinned(["model"], true);
        Assert.Equal(24 + 10 * 7.5 + 18, document.WidthOf("model"));

        // A group drawn around the collapsed node ends at its narrowed edge, and keeps it as a member.
        var index = document.AddGroup(["model"]);
        var group = document.Groups[index];
        Assert.Equal(document.PositionOf("model").X + document.WidthOf("model") + GraphDocument.GroupPadding, group.X + group.Width);
        Assert.Equal(NodeLayout.HeaderHeight + 2 * GraphDocument.GroupPadding + GraphDocument.GroupTitleHeight, group.Height);
        Assert.Equal(["model"], document.GroupMembers(index));

        document.SetCollapsed(["model"], false);
        Assert.Equal(NodeLayout.Width, document.WidthOf("model"));
    }

    [Theory]
    [InlineData("#3f789e", true)]
    [InlineData("#abc", true)]
    [InlineData("red", true)]
    [InlineData("red;background:url(x)", false)]
    [InlineData("#12345", false)]
    [InlineData("", false)]
    public void Only_plain_colours_reach_a_style_attribute(string color, bool safe) => Assert.Equal(safe, CssColor.IsSafe(color));
}
