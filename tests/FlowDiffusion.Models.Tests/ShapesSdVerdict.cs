namespace FlowDiffusion.Models.Tests;

/// <summary>What the judge reads from one picture: the shape's colour (null when there is none), its shape and the background.</summary>
internal sealed record ShapesSdVerdict(string? Colour, string Shape, string Background)
{
    public bool Matches(string colour, string shape, string background) =>
        Colour == colour && Shape == shape && Background == background;

    public override string ToString() => $"a {Colour ?? "-"} {Shape} on a {Background} background";
}
