namespace FlowDiffusion.Engine.Workflows;

/// <summary>The optional <c>editor:</c> section: canvas state the engine ignores but keeps.</summary>
/// <param name="Positions">Node positions by node id, in file order.</param>
/// <param name="Viewport">Pan and zoom as (x, y, zoom), or null.</param>
/// <param name="SeedControls">
/// The seeds that are not <see cref="SeedControl.Fixed"/>, by workflow input name or <c>node.parameter</c> name, in file
/// order; null or empty when every seed is fixed. Runs outside the editor use the values as written.
/// </param>
/// <param name="Collapsed">Nodes drawn as their title bar only, or null.</param>
/// <param name="Pinned">Nodes that cannot be moved or box-selected, or null.</param>
/// <param name="Colors">Node colours by node id, or null.</param>
/// <param name="Groups">Groups in drawing order (the first is drawn beneath the others), or null.</param>
/// <param name="Reroutes">
/// Reroute points by id: dots links pass through on the canvas. They are drawn only; the edges in <c>in:</c> stay
/// direct, so a reroute never changes what runs.
/// </param>
/// <param name="Routes">
/// For each link that passes reroutes, keyed by the input it feeds (<c>node.port</c>), the reroute ids it passes from
/// its source to that input; or null.
/// </param>
/// <param name="Advanced">
/// Nodes whose advanced parameters (<c>ParameterAttribute.Advanced</c>) are shown, or null: the editor draws every other
/// node with them tucked behind its closed "Advanced" toggle.
/// </param>
public sealed record EditorLayout(
    IReadOnlyList<KeyValuePair<string, NodePosition>> Positions,
    (double X, double Y, double Zoom)? Viewport = null,
    IReadOnlyList<KeyValuePair<string, SeedControl>>? SeedControls = null,
    IReadOnlyList<string>? Collapsed = null,
    IReadOnlyList<string>? Pinned = null,
    IReadOnlyList<KeyValuePair<string, NodeColor>>? Colors = null,
    IReadOnlyList<EditorGroup>? Groups = null,
    IReadOnlyList<KeyValuePair<string, NodePosition>>? Reroutes = null,
    IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>>? Routes = null,
    IReadOnlyList<string>? Advanced = null)
{
    /// <summary>The YAML key of each saved mode's list under <c>editor:</c>, in the order they are written.</summary>
    public static IReadOnlyList<KeyValuePair<string, SeedControl>> SeedControlKeys { get; } =
        [new("randomize", SeedControl.Randomize), new("increment", SeedControl.Increment), new("decrement", SeedControl.Decrement)];

    /// <summary>The control of <paramref name="seed"/>; <see cref="SeedControl.Fixed"/> when it is not listed.</summary>
    public SeedControl SeedControlOf(string seed) =>
        SeedControls?.FirstOrDefault(c => c.Key == seed) is { Key: not null } found ? found.Value : SeedControl.Fixed;

    /// <summary>Whether node <paramref name="nodeId"/> is drawn collapsed.</summary>
    public bool IsCollapsed(string nodeId) => Collapsed?.Contains(nodeId) == true;

    /// <summary>Whether node <paramref name="nodeId"/> shows its advanced parameters.</summary>
    public bool ShowsAdvanced(string nodeId) => Advanced?.Contains(nodeId) == true;

    /// <summary>Whether node <paramref name="nodeId"/> is pinned.</summary>
    public bool IsPinned(string nodeId) => Pinned?.Contains(nodeId) == true;

    /// <summary>The colours of node <paramref name="nodeId"/>, or null for the default.</summary>
    public NodeColor? ColorOf(string nodeId) => Colors?.FirstOrDefault(c => c.Key == nodeId).Value;

    /// <summary>The reroute ids the link into <paramref name="node"/>.<paramref name="port"/> passes, source first; empty when direct.</summary>
    public IReadOnlyList<string> RouteOf(string node, string port) =>
        Routes?.FirstOrDefault(r => r.Key == node + "." + port).Value ?? [];

    /// <summary>Where reroute <paramref name="id"/> is drawn, or null when there is none.</summary>
    public NodePosition? RerouteAt(string id) =>
        Reroutes?.FirstOrDefault(r => r.Key == id) is { Key: not null } found ? found.Value : null;
}
