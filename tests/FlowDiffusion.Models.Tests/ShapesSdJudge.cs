using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Models.Tests;

/// <summary>
/// The shapes-sd judge, the same rules as models/shapes/judge.py: snap every pixel to the palette, take the background
/// from the two-pixel border, the shape's colour from the most common other colour, and the shape from the largest
/// 4-connected region of that colour (a hole in the middle, a bottom row much wider than the top, the fill of its box).
/// </summary>
internal static class ShapesSdJudge
{
    /// <summary>The training palette (models/shapes/shapes_data.py), 0–255.</summary>
    public static IReadOnlyList<(string Name, int R, int G, int B)> Palette { get; } =
    [
        ("red", 230, 30, 30), ("green", 30, 180, 40), ("blue", 30, 60, 230), ("yellow", 240, 220, 30),
        ("cyan", 40, 220, 230), ("magenta", 220, 40, 220), ("white", 245, 245, 245), ("black", 15, 15, 15),
    ];

    public static IReadOnlyList<string> Shapes { get; } = ["circle", "square", "triangle", "ring", "cross"];

    /// <summary>The colour/shape pairs training never saw (models/shapes/shapes_data.py HELD_OUT).</summary>
    public static IReadOnlySet<(string Colour, string Shape)> HeldOut { get; } =
        new HashSet<(string, string)> { ("red", "triangle"), ("green", "ring"), ("blue", "cross"), ("yellow", "square") };

    /// <summary>Judges picture <paramref name="index"/> of an engine image (planar RGB in [0, 1]).</summary>
    public static ShapesSdVerdict Judge(Image image, int index = 0)
    {
        var pixels = image.PixelsOf(index);
        int h = image.Height, w = image.Width, plane = h * w;
        var snapped = new int[h, w];
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            var p = y * w + x;
            snapped[y, x] = Nearest(Byte(pixels[p]), Byte(pixels[plane + p]), Byte(pixels[2 * plane + p]));
        }

        return Judge(snapped);
    }

    /// <summary>Judges a picture already snapped to palette indices [y, x].</summary>
    public static ShapesSdVerdict Judge(int[,] snapped)
    {
        int h = snapped.GetLength(0), w = snapped.GetLength(1);
        var border = new List<int>();
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            // Rows then columns, corners counted twice, as the Python judge concatenates them.
            if (y < 2 || y >= h - 2) border.Add(snapped[y, x]);
        }

        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            if (x < 2 || x >= w - 2) border.Add(snapped[y, x]);
        }

        var background = MostCommon(border);
        var rest = new List<int>();
        foreach (var c in snapped)
        {
            if (c != background) rest.Add(c);
        }

        if (rest.Count == 0)
        {
            return new ShapesSdVerdict(null, "none", Palette[background].Name);
        }

        var colour = MostCommon(rest);
        return new ShapesSdVerdict(Palette[colour].Name, Classify(LargestComponent(snapped, colour)), Palette[background].Name);
    }

    /// <summary>The shape a region's mask shows, or "none" below 20 pixels.</summary>
    public static string Classify(bool[,] mask)
    {
        int h = mask.GetLength(0), w = mask.GetLength(1);
        int y0 = h, y1 = -1, x0 = w, x1 = -1, area = 0;
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            if (!mask[y, x]) continue;
            area++;
            (y0, y1, x0, x1) = (Math.Min(y0, y), Math.Max(y1, y), Math.Min(x0, x), Math.Max(x1, x));
        }

        if (area < 20) return "none";
        int bh = y1 - y0 + 1, bw = x1 - x0 + 1;
        var fill = area / (double)(bh * bw);
        int cy = (y0 + y1) / 2, cx = (x0 + x1) / 2;
        if (fill < 0.75 && !AnyAround(mask, cy, cx)) return "ring";
        var top = RowFill(mask, y0 + bh * 15 / 100, x0, x1);
        var bottom = RowFill(mask, y1 - bh * 15 / 100, x0, x1);
        if (bottom > 0.6 && bottom > top + 0.3) return "triangle";

        // A square fills its box's corners, a circle leaves them empty; the VAE's own round trips blur both (corner
        // coverage: squares 0.38-1.00, circles 0.02-0.62; fill: squares 0.85-1.00, circles 0.71-0.93), and the sum
        // corner + 2 × fill >= 2 separates them best on those round trips (all squares, 98% of circles).
        if (CornerFill(mask, y0, y1, x0, x1) + 2 * fill >= 2.0) return "square";
        return fill >= 0.66 ? "circle" : "cross";
    }

    /// <summary>Mean coverage of the four corner boxes (a fifth of the shorter side) of the mask's bounding box.</summary>
    public static double CornerFill(bool[,] mask, int y0, int y1, int x0, int x1)
    {
        var k = Math.Max(1, (int)Math.Round(0.2 * Math.Min(y1 - y0 + 1, x1 - x0 + 1), MidpointRounding.ToEven));
        double total = 0;
        foreach (var (top, left) in new[] { (y0, x0), (y0, x1 - k + 1), (y1 - k + 1, x0), (y1 - k + 1, x1 - k + 1) })
        {
            var filled = 0;
            for (var y = top; y < top + k; y++)
            for (var x = left; x < left + k; x++)
            {
                if (mask[y, x]) filled++;
            }

            total += filled / (double)(k * k);
        }

        return total / 4;
    }

    private static int Byte(float v) => (int)Math.Round(Math.Clamp(v, 0f, 1f) * 255.0, MidpointRounding.ToEven);

    private static int Nearest(int r, int g, int b)
    {
        var (best, bestDistance) = (0, int.MaxValue);
        for (var i = 0; i < Palette.Count; i++)
        {
            var (_, pr, pg, pb) = Palette[i];
            var d = (r - pr) * (r - pr) + (g - pg) * (g - pg) + (b - pb) * (b - pb);
            if (d < bestDistance) (best, bestDistance) = (i, d);
        }

        return best;
    }

    // Ties go to the value seen first, like Python's Counter.most_common.
    private static int MostCommon(List<int> values)
    {
        var counts = new Dictionary<int, int>();
        var order = new List<int>();
        foreach (var v in values)
        {
            if (!counts.TryAdd(v, 1)) counts[v]++;
            else order.Add(v);
        }

        var best = order[0];
        foreach (var v in order)
        {
            if (counts[v] > counts[best]) best = v;
        }

        return best;
    }

    private static bool[,] LargestComponent(int[,] snapped, int colour)
    {
        int h = snapped.GetLength(0), w = snapped.GetLength(1);
        var seen = new bool[h, w];
        var best = new List<(int Y, int X)>();
        for (var sy = 0; sy < h; sy++)
        for (var sx = 0; sx < w; sx++)
        {
            if (snapped[sy, sx] != colour || seen[sy, sx]) continue;
            seen[sy, sx] = true;
            var queue = new Queue<(int Y, int X)>([(sy, sx)]);
            var component = new List<(int Y, int X)>();
            while (queue.TryDequeue(out var p))
            {
                component.Add(p);
                foreach (var (ny, nx) in new[] { (p.Y - 1, p.X), (p.Y + 1, p.X), (p.Y, p.X - 1), (p.Y, p.X + 1) })
                {
                    if (ny >= 0 && ny < h && nx >= 0 && nx < w && snapped[ny, nx] == colour && !seen[ny, nx])
                    {
                        seen[ny, nx] = true;
                        queue.Enqueue((ny, nx));
                    }
                }
            }

            if (component.Count > best.Count) best = component;
        }

        var mask = new bool[h, w];
        foreach (var (y, x) in best) mask[y, x] = true;
        return mask;
    }

    private static bool AnyAround(bool[,] mask, int cy, int cx)
    {
        for (var y = Math.Max(0, cy - 1); y <= Math.Min(mask.GetLength(0) - 1, cy + 1); y++)
        for (var x = Math.Max(0, cx - 1); x <= Math.Min(mask.GetLength(1) - 1, cx + 1); x++)
        {
            if (mask[y, x]) return true;
        }

        return false;
    }

    private static double RowFill(bool[,] mask, int y, int x0, int x1)
    {
        var filled = 0;
        for (var x = x0; x <= x1; x++)
        {
            if (mask[y, x]) filled++;
        }

        return filled / (double)(x1 - x0 + 1);
    }
}
