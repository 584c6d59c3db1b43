namespace FlowDiffusion.Engine.Workflows;

/// <summary>The optional <c>editor:</c> section: canvas state the engine ignores but keeps.</summary>
/// <param name="Positions">Node positions by node id, in file order.</param>
/// <param name="Viewport">Pan and zoom as (x, y, zoom), or null.</param>
public sealed record EditorLayout(IReadOnlyList<KeyValuePair<string, NodePosition>> Positions, (double X, double Y, double Zoom)? Viewport = null);
