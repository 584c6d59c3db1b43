namespace FlowDiffusion.Engine.Workflows;

/// <summary>The optional <c>editor:</c> section: canvas state the engine ignores but keeps.</summary>
/// <param name="Positions">Node positions by node id, in file order.</param>
/// <param name="Viewport">Pan and zoom as (x, y, zoom), or null.</param>
/// <param name="SeedControls">
/// The seeds that are not <see cref="SeedControl.Fixed"/>, by workflow input name or <c>node.parameter</c> name, in file
/// order; null or empty when every seed is fixed. Runs outside the editor use the values as written.
/// </param>
public sealed record EditorLayout(
    IReadOnlyList<KeyValuePair<string, NodePosition>> Positions,
    (double X, double Y, double Zoom)? Viewport = null,
    IReadOnlyList<KeyValuePair<string, SeedControl>>? SeedControls = null)
{
    /// <summary>The YAML key of each saved mode's list under <c>editor:</c>, in the order they are written.</summary>
    public static IReadOnlyList<KeyValuePair<string, SeedControl>> SeedControlKeys { get; } =
        [new("randomize", SeedControl.Randomize), new("increment", SeedControl.Increment), new("decrement", SeedControl.Decrement)];

    /// <summary>The control of <paramref name="seed"/>; <see cref="SeedControl.Fixed"/> when it is not listed.</summary>
    public SeedControl SeedControlOf(string seed) =>
        SeedControls?.FirstOrDefault(c => c.Key == seed) is { Key: not null } found ? found.Value : SeedControl.Fixed;
}
