using SkiaSharp;

namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// The control image the openpose ControlNets were trained on, drawn as the annotator draws it on black, person by
/// person: the 17 limbs as filled ellipses (half-length × 4 px, OpenCV's ellipse2Poly polygon: integer centre, axes
/// and angle, filled with its outline) in 0.6 × the limb's colour, then the 18 points as discs of radius 4 (the pixels
/// within the radius, as OpenCV fills circles) in full colour; each hand's 20 bones
/// as 2-px lines (OpenCV's: a band with round caps) coloured by hue (bone / 20) and its points as blue discs of radius 4; the face points as white discs of
/// radius 3. Coordinates are truncated to whole pixels as the annotator's <c>int()</c> does; hand and face points at
/// column or row 0 are not drawn.
/// </summary>
public static class OpenPoseCanvas
{
    /// <summary>The limbs, as pairs of OpenPose body indices (0-based), in drawing order.</summary>
    public static IReadOnlyList<(int From, int To)> Limbs { get; } =
    [
        (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
        (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
    ];

    /// <summary>The colour of limb i and of body point i (RGB).</summary>
    public static IReadOnlyList<(byte R, byte G, byte B)> Colors { get; } =
    [
        (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
        (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
        (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
    ];

    /// <summary>The hand's bones, as pairs of hand keypoint indices, in drawing (and hue) order.</summary>
    public static IReadOnlyList<(int From, int To)> HandBones { get; } =
    [
        (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10),
        (10, 11), (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
    ];

    private const int StickHalfWidth = 4, BodyRadius = 4, HandRadius = 4, FaceRadius = 3, HandLineWidth = 2;

    /// <summary>The pose image, planar RGB [3, height, width] in 0..1.</summary>
    /// <param name="people">The people to draw.</param>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    /// <param name="body">Draw the body.</param>
    /// <param name="hands">Draw the hands.</param>
    /// <param name="face">Draw the face.</param>
    /// <param name="stickScale">The limbs' half-width in multiples of 4 px (comfyui_controlnet_aux's scale_stick_for_xinsr_cn: <see cref="XinsrStickScale"/>).</param>
    public static float[] Draw(IReadOnlyList<OpenPoseKeypoints> people, int height, int width, bool body, bool hands, bool face, int stickScale = 1)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Black);
            using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
            foreach (var person in people)
            {
                if (body) DrawBody(canvas, paint, person.Body, StickHalfWidth * stickScale);
                if (hands)
                {
                    DrawHand(canvas, paint, person.LeftHand);
                    DrawHand(canvas, paint, person.RightHand);
                }
                if (face && person.Face is { } points)
                {
                    paint.Color = SKColors.White;
                    foreach (var point in points)
                        if (point is { } p && Pixel(p) is var (x, y) && x > 0 && y > 0) Disc(canvas, paint, x, y, FaceRadius);
                }
            }
        }

        var plane = height * width;
        var result = new float[3 * plane];
        var bytes = bitmap.GetPixelSpan();
        for (var i = 0; i < plane; i++)
        {
            result[i] = bytes[4 * i] / 255f;
            result[plane + i] = bytes[4 * i + 1] / 255f;
            result[2 * plane + i] = bytes[4 * i + 2] / 255f;
        }
        return result;
    }

    /// <summary>Hue (bone / 20) at full saturation and value, as 8-bit RGB rounded half to even as OpenCV stores it.</summary>
    /// <param name="bone">The bone's index in <see cref="HandBones"/>.</param>
    public static (byte R, byte G, byte B) HandBoneColor(int bone)
    {
        var h6 = bone / (double)HandBones.Count * 6;
        var sector = (int)Math.Floor(h6);
        // matplotlib's hsv_to_rgb at s = v = 1, step for step: its float rounding decides the x.5 cases.
        var f = h6 - sector;
        var t = 1 - (1 - f);
        (double R, double G, double B) rgb = (sector % 6) switch
        {
            0 => (1, t, 0),
            1 => (1 - f, 1, 0),
            2 => (0, 1, t),
            3 => (0, 1 - f, 1),
            4 => (t, 0, 1),
            _ => (1, 0, 1 - f),
        };
        var (r, g, b) = rgb;
        static byte Byte(double v) => (byte)Math.Round(v * 255, MidpointRounding.ToEven);
        return (Byte(r), Byte(g), Byte(b));
    }

    /// <summary>comfyui_controlnet_aux's stick scale for xinsir's openpose ControlNet: 1 when the longer side is under 500, else min(2 + side // 1000, 7).</summary>
    public static int XinsrStickScale(int height, int width)
    {
        var side = Math.Max(height, width);
        return side < 500 ? 1 : Math.Min(2 + side / 1000, 7);
    }

    private static void DrawBody(SKCanvas canvas, SKPaint paint, PoseKeypoint?[] points, int halfWidth)
    {
        for (var i = 0; i < Limbs.Count; i++)
        {
            if (points[Limbs[i].From] is not { } a || points[Limbs[i].To] is not { } b) continue;
            var (r, g, bl) = Colors[i];
            paint.Color = new SKColor((byte)(int)(r * 0.6), (byte)(int)(g * 0.6), (byte)(int)(bl * 0.6));
            using var polygon = LimbPolygon(a, b, halfWidth);
            canvas.DrawPath(polygon, paint);
            // OpenCV's fillConvexPoly also sets the pixels its outline passes through.
            using var outline = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Stroke, StrokeWidth = 0, Color = paint.Color };
            canvas.DrawPath(polygon, outline);
        }

        for (var i = 0; i < points.Length; i++)
        {
            if (points[i] is not { } p) continue;
            var (r, g, b) = Colors[i];
            paint.Color = new SKColor(r, g, b);
            var (x, y) = Pixel(p);
            Disc(canvas, paint, x, y, BodyRadius);
        }
    }

    private static void DrawHand(SKCanvas canvas, SKPaint paint, PoseKeypoint?[]? points)
    {
        if (points is null) return;
        for (var i = 0; i < HandBones.Count; i++)
        {
            if (points[HandBones[i].From] is not { } a || points[HandBones[i].To] is not { } b) continue;
            var ((x1, y1), (x2, y2)) = (Pixel(a), Pixel(b));
            if (x1 <= 0 || y1 <= 0 || x2 <= 0 || y2 <= 0) continue;
            var (r, g, bl) = HandBoneColor(i);
            paint.Color = new SKColor(r, g, bl);
            ThickLine(canvas, paint, x1, y1, x2, y2);
        }

        paint.Color = new SKColor(0, 0, 255);
        foreach (var point in points)
            if (point is { } p && Pixel(p) is var (x, y) && x > 0 && y > 0) Disc(canvas, paint, x, y, HandRadius);
    }

    // The annotator's ellipse: centre at the truncated midpoint, half-axes ⌊length / 2⌋ and 4, angle ⌊atan2(dy, dx)⌋ in
    // degrees, as the polygon through one point per degree rounded to whole pixels (OpenCV's ellipse2Poly).
    private static SKPath LimbPolygon(PoseKeypoint a, PoseKeypoint b, int halfWidth)
    {
        double mx = (a.X + b.X) / 2.0, my = (a.Y + b.Y) / 2.0;
        var length = Math.Sqrt(((double)a.X - b.X) * ((double)a.X - b.X) + ((double)a.Y - b.Y) * ((double)a.Y - b.Y));
        var angle = (int)(Math.Atan2((double)a.Y - b.Y, (double)a.X - b.X) * 180 / Math.PI);
        int cx = (int)mx, cy = (int)my, halfLength = (int)(length / 2);
        while (angle < 0) angle += 360;
        double alpha = Math.Cos(angle * Math.PI / 180), beta = Math.Sin(angle * Math.PI / 180);
        var path = new SKPath();
        for (var degree = 0; degree <= 360; degree++)
        {
            double x = halfLength * Math.Cos(degree * Math.PI / 180), y = halfWidth * Math.Sin(degree * Math.PI / 180);
            var px = Math.Round(cx + x * alpha - y * beta, MidpointRounding.ToEven);
            var py = Math.Round(cy + x * beta + y * alpha, MidpointRounding.ToEven);
            // Pixel (i, j) covers [i, i + 1) × [j, j + 1): OpenCV's integer vertices are pixel centres.
            if (degree == 0) path.MoveTo((float)px + 0.5f, (float)py + 0.5f);
            else path.LineTo((float)px + 0.5f, (float)py + 0.5f);
        }
        path.Close();
        return path;
    }

    private static (int X, int Y) Pixel(PoseKeypoint point) => ((int)point.X, (int)point.Y);

    // OpenCV's 2-px line: the band of half-width 1 around the segment, filled with its outline, and discs of radius 1 at
    // both ends for its round caps.
    private static void ThickLine(SKCanvas canvas, SKPaint paint, int x1, int y1, int x2, int y2)
    {
        float dx = x2 - x1, dy = y2 - y1;
        var length = MathF.Sqrt(dx * dx + dy * dy);
        if (length > 0)
        {
            float nx = -dy / length * HandLineWidth / 2, ny = dx / length * HandLineWidth / 2;
            using var band = new SKPath();
            band.MoveTo(x1 + nx + 0.5f, y1 + ny + 0.5f);
            band.LineTo(x2 + nx + 0.5f, y2 + ny + 0.5f);
            band.LineTo(x2 - nx + 0.5f, y2 - ny + 0.5f);
            band.LineTo(x1 - nx + 0.5f, y1 - ny + 0.5f);
            band.Close();
            canvas.DrawPath(band, paint);
            using var outline = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Stroke, StrokeWidth = 0, Color = paint.Color };
            canvas.DrawPath(band, outline);
        }
        Disc(canvas, paint, x1, y1, HandLineWidth / 2);
        Disc(canvas, paint, x2, y2, HandLineWidth / 2);
    }

    // OpenCV's filled circle: the pixels (x + dx, y + dy) with dx² + dy² ≤ r², drawn row by row.
    private static void Disc(SKCanvas canvas, SKPaint paint, int x, int y, int radius)
    {
        for (var dy = -radius; dy <= radius; dy++)
        {
            var half = (int)Math.Sqrt(radius * radius - dy * dy);
            canvas.DrawRect(x - half, y + dy, 2 * half + 1, 1, paint);
        }
    }
}
