namespace FlowDiffusion.Models.Tests;

/// <summary>The judge itself, on pictures drawn with the training set's geometry (models/shapes/shapes_data.py).</summary>
public sealed class ShapesSdJudgeTests
{
    public static TheoryData<string, double, double, double> Drawn()
    {
        var cases = new TheoryData<string, double, double, double>();
        foreach (var shape in ShapesSdJudge.Shapes)
        {
            // The smallest and largest training radii, centred and near a corner.
            cases.Add(shape, 32, 32, 11);
            cases.Add(shape, 12.5, 50.2, 11);
            cases.Add(shape, 22, 22, 21);
            cases.Add(shape, 41.7, 36.3, 16.4);
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Drawn))]
    public void Judge_reads_back_every_drawn_shape(string shape, double cx, double cy, double r)
    {
        var (colour, background) = (2, 3); // blue on yellow
        var snapped = new int[64, 64];
        for (var y = 0; y < 64; y++)
        for (var x = 0; x < 64; x++)
        {
            snapped[y, x] = Inside(shape, x + 0.5 - cx, y + 0.5 - cy, r) ? colour : background;
        }

        Assert.Equal(new ShapesSdVerdict("blue", shape, "yellow"), ShapesSdJudge.Judge(snapped));
    }

    [Fact]
    public void Judge_ignores_specks_and_reports_a_blank_picture_as_no_shape()
    {
        var blank = new int[64, 64];
        Assert.Equal(new ShapesSdVerdict(null, "none", "red"), ShapesSdJudge.Judge(blank));

        var specks = new int[64, 64];
        specks[10, 10] = specks[40, 50] = 6;
        Assert.Equal("none", ShapesSdJudge.Judge(specks).Shape);
    }

    private static bool Inside(string shape, double dx, double dy, double r) => shape switch
    {
        "circle" => dx * dx + dy * dy <= r * r,
        "square" => Math.Abs(dx) <= r * 0.85 && Math.Abs(dy) <= r * 0.85,
        "ring" => dx * dx + dy * dy <= r * r && dx * dx + dy * dy >= 0.55 * r * 0.55 * r,
        "cross" => (Math.Abs(dx) <= r * 0.32 && Math.Abs(dy) <= r) || (Math.Abs(dy) <= r * 0.32 && Math.Abs(dx) <= r),
        "triangle" => dy >= -r && dy <= 0.8 * r && Math.Abs(dx) <= (dy + r) / (1.8 * r) * r,
        _ => throw new ArgumentOutOfRangeException(nameof(shape)),
    };
}
