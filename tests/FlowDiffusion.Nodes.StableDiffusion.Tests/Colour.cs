using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>An RGB colour in [0, 1], and the pixel statistics the analytic model's closed form is checked with.</summary>
internal readonly record struct Colour(double R, double G, double B)
{
    public static Colour Gray => new(0.5, 0.5, 0.5);

    /// <summary>Mean colour of image <paramref name="index"/> over the pixels <paramref name="where"/> selects (all when null).</summary>
    public static Colour MeanOf(Image image, int index = 0, Func<int, int, bool>? where = null)
    {
        var pixels = image.PixelsOf(index);
        int plane = image.Height * image.Width, count = 0;
        double r = 0, g = 0, b = 0;
        for (var y = 0; y < image.Height; y++)
        for (var x = 0; x < image.Width; x++)
        {
            if (where is not null && !where(y, x)) continue;
            var p = y * image.Width + x;
            r += pixels[p];
            g += pixels[plane + p];
            b += pixels[2 * plane + p];
            count++;
        }
        Assert.True(count > 0, "no pixel selected");
        return new Colour(r / count, g / count, b / count);
    }

    /// <summary>u + s·(c − u) clamped to [0, 1]: classifier-free guidance on the analytic model.</summary>
    public static Colour Guided(Colour negative, Colour positive, double scale) => new(
        Math.Clamp(negative.R + scale * (positive.R - negative.R), 0, 1),
        Math.Clamp(negative.G + scale * (positive.G - negative.G), 0, 1),
        Math.Clamp(negative.B + scale * (positive.B - negative.B), 0, 1));

    public double Distance(Colour other) => Math.Max(Math.Abs(R - other.R), Math.Max(Math.Abs(G - other.G), Math.Abs(B - other.B)));

    public static void Near(Colour expected, Colour actual, double tolerance = 0.02, string? context = null) =>
        Assert.True(expected.Distance(actual) <= tolerance, $"{context} expected {expected}, got {actual} (tolerance {tolerance})");

    public override string ToString() => $"({R:0.0000}, {G:0.0000}, {B:0.0000})";
}
