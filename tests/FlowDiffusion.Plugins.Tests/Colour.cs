using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>An RGB colour in [0, 1] and the mean colour of an image.</summary>
internal readonly record struct Colour(double R, double G, double B)
{
    public static Colour MeanOf(Image image)
    {
        var pixels = image.PixelsOf(0);
        var plane = image.Height * image.Width;
        double r = 0, g = 0, b = 0;
        for (var p = 0; p < plane; p++)
        {
            r += pixels[p];
            g += pixels[plane + p];
            b += pixels[2 * plane + p];
        }
        return new Colour(r / plane, g / plane, b / plane);
    }

    public double DistanceTo(Colour other) =>
        Math.Sqrt((R - other.R) * (R - other.R) + (G - other.G) * (G - other.G) + (B - other.B) * (B - other.B));

    /// <summary>The colour <paramref name="share"/> of the way from this one to <paramref name="target"/>.</summary>
    public Colour Toward(Colour target, double share) =>
        new(R + share * (target.R - R), G + share * (target.G - G), B + share * (target.B - B));

    public override string ToString() => FormattableString.Invariant($"({R:F4}, {G:F4}, {B:F4})");
}
