namespace FlowDiffusion.Engine.Workflows;

/// <summary>
/// A node's colours on the editor's canvas, as ComfyUI keeps them (<c>color</c> for the title bar, <c>bgcolor</c> for
/// the body); either may be null for the editor's default. Drawn only: runs never see it.
/// </summary>
/// <param name="Title">The title bar's CSS colour, or null.</param>
/// <param name="Body">The body's CSS colour, or null.</param>
public sealed record NodeColor(string? Title, string? Body);
