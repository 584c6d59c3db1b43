namespace FlowDiffusion.Engine.Workflows;

/// <summary>
/// A group on the editor's canvas (ComfyUI's group): a titled, coloured box. The nodes inside it are the ones whose
/// title bar's centre lies in the box; moving the group moves them. Drawn only: runs never see it.
/// </summary>
/// <param name="Title">The title shown in the box's header.</param>
/// <param name="X">Left edge in canvas units.</param>
/// <param name="Y">Top edge.</param>
/// <param name="Width">Width.</param>
/// <param name="Height">Height.</param>
/// <param name="Color">A CSS colour such as <c>#3f789e</c>, or null for the editor's default.</param>
public sealed record EditorGroup(string Title, double X, double Y, double Width, double Height, string? Color = null)
{
    /// <summary>Whether point (<paramref name="x"/>, <paramref name="y"/>) lies in the box, edges included.</summary>
    public bool Contains(double x, double y) => x >= X && y >= Y && x <= X + Width && y <= Y + Height;
}
