namespace FlowDiffusion.Engine.Workflows;

/// <summary>The optional <c>editor:</c> section: canvas state the engine ignores but keeps.</summary>
/// <param name="Positions">Node positions by node id, in file order.</param>
/// <param name="Viewport">Pan and zoom as (x, y, zoom), or null.</param>
/// <param name="Randomize">
/// Seeds the editor re-rolls before each run (ComfyUI's "randomize" control): workflow input names and
/// <c>node.parameter</c> names; null or empty when every seed is fixed. Runs outside the editor use the values as written.
/// </param>
public sealed record EditorLayout(
    IReadOnlyList<KeyValuePair<string, NodePosition>> Positions,
    (double X, double Y, double Zoom)? Viewport = null,
    IReadOnlyList<string>? Randomize = null);
