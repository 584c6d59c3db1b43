using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Graph;

/// <summary>Align and distribute: chosen nodes only, one undo step, outermost nodes kept when distributing.</summary>
public sealed class AlignTests
{
    private static GraphDocument Three(out string a, out string b, out string c)
    {
        var document = GraphDocument.Empty(SdCatalog.Engine.Catalog);
        a = document.AddNode("vae.decode", new NodePosition(100, 40));
        b = document.AddNode("vae.decode", new NodePosition(700, 300));
        c = document.AddNode("vae.decode", new NodePosition(220, 900));
        document.AddNode("vae.decode", new NodePosition(5, 5)); // not chosen: stays
        return document;
    }

    [Fact]
    public void Align_left_and_top_move_only_the_chosen_nodes_in_one_undo_step()
    {
        var document = Three(out var a, out var b, out var c);
        var others = document.Workflow.Nodes.Single(n => n.Id != a && n.Id != b && n.Id != c).Id;

        document.Align([a, b, c], Alignment.Left);
        Assert.Equal([new NodePosition(100, 40), new NodePosition(100, 300), new NodePosition(100, 900)], new[] { a, b, c }.Select(document.PositionOf));
        document.Align([a, b, c], Alignment.Top);
        Assert.Equal([new NodePosition(100, 40), new NodePosition(100, 40), new NodePosition(100, 40)], new[] { a, b, c }.Select(document.PositionOf));
        Assert.Equal(new NodePosition(5, 5), document.PositionOf(others));

        document.Undo();
        Assert.Equal(new NodePosition(100, 300), document.PositionOf(b));
        document.Undo();
        Assert.Equal(new NodePosition(700, 300), document.PositionOf(b));
    }

    [Fact]
    public void Distribute_keeps_the_outermost_nodes_and_spaces_the_others_evenly_in_their_order()
    {
        var document = Three(out var a, out var b, out var c);

        document.Align([a, b, c], Alignment.Horizontal);
        // Left to right: a (100), c (220), b (700) → c moves to the middle, 400; y untouched.
        Assert.Equal([new NodePosition(100, 40), new NodePosition(700, 300), new NodePosition(400, 900)], new[] { a, b, c }.Select(document.PositionOf));

        document.Align([a, b, c], Alignment.Vertical);
        // Top to bottom: a (40), b (300), c (900) → b moves to 470.
        Assert.Equal(new NodePosition(700, 470), document.PositionOf(b));

        var revision = document.Revision;
        document.Align([a, b], Alignment.Vertical);
        document.Align([a], Alignment.Left);
        Assert.Equal(revision, document.Revision);
    }
}
