using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

/// <summary>
/// The colours the editor offers for nodes and groups: ComfyUI's palette (title bar, body and group colour of each),
/// so colours stay the same in a workflow moved between the two.
/// </summary>
public static class CanvasPalette
{
    /// <summary>Each colour's name, node colours and group colour.</summary>
    public static IReadOnlyList<(string Name, NodeColor Node, string Group)> Colors { get; } =
    [
        ("red", new("#322", "#533"), "#A88"),
        ("brown", new("#332922", "#593930"), "#b06634"),
        ("green", new("#232", "#353"), "#8A8"),
        ("blue", new("#223", "#335"), "#88A"),
        ("pale_blue", new("#2a363b", "#3f5159"), "#3f789e"),
        ("cyan", new("#233", "#355"), "#8AA"),
        ("purple", new("#323", "#535"), "#a1309b"),
        ("yellow", new("#432", "#653"), "#b58b2a"),
        ("black", new("#222", "#000"), "#444"),
    ];
}
