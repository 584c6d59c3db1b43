namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// OpenCV's <c>cv2.line</c> of width 1 with the default 8-connected line type between integer points: the segment clipped
/// to the image as <c>clipLine</c> does (each outside end moved to the border it crosses, the other coordinate advanced by
/// the truncated double quotient), then drawn by <c>LineIterator</c>'s Bresenham from the left end (err = dx − 2dy;
/// each step along the major axis, also along the minor one while err &lt; 0, err −= 2dy and += 2dx on those steps).
/// </summary>
public static class OpenCvLine
{
    /// <summary>Sets the pixels of the line from (x1, y1) to (x2, y2) in a height × width plane to <paramref name="value"/>.</summary>
    public static void Draw(byte[] plane, int height, int width, long x1, long y1, long x2, long y2, byte value)
    {
        ArgumentNullException.ThrowIfNull(plane);
        if ((ulong)x1 >= (ulong)width || (ulong)x2 >= (ulong)width || (ulong)y1 >= (ulong)height || (ulong)y2 >= (ulong)height)
        {
            if (!Clip(width, height, ref x1, ref y1, ref x2, ref y2)) return;
        }

        if (x2 < x1) (x1, y1, x2, y2) = (x2, y2, x1, y1);
        var dx = x2 - x1;
        var dy = y2 - y1;
        var yStep = dy < 0 ? -1 : 1;
        dy = Math.Abs(dy);
        var steep = dy > dx;
        if (steep) (dx, dy) = (dy, dx);
        var err = dx - (dy + dy);
        long x = x1, y = y1;
        for (long i = 0; i <= dx; i++)
        {
            plane[y * width + x] = value;
            var minor = err < 0;
            err += minor ? dx + dx - (dy + dy) : -(dy + dy);
            if (steep)
            {
                y += yStep;
                if (minor) x++;
            }
            else
            {
                x++;
                if (minor) y += yStep;
            }
        }
    }

    // OpenCV's clipLine on a width × height rectangle; false when the segment misses it.
    private static bool Clip(long width, long height, ref long x1, ref long y1, ref long x2, ref long y2)
    {
        long right = width - 1, bottom = height - 1;
        static int Code(long x, long y, long right, long bottom) => (x < 0 ? 1 : 0) + (x > right ? 2 : 0) + (y < 0 ? 4 : 0) + (y > bottom ? 8 : 0);
        var c1 = Code(x1, y1, right, bottom);
        var c2 = Code(x2, y2, right, bottom);
        if ((c1 & c2) == 0 && (c1 | c2) != 0)
        {
            if ((c1 & 12) != 0)
            {
                var a = c1 < 8 ? 0 : bottom;
                x1 += (long)((double)(a - y1) * (x2 - x1) / (y2 - y1));
                y1 = a;
                c1 = (x1 < 0 ? 1 : 0) + (x1 > right ? 2 : 0);
            }

            if ((c2 & 12) != 0)
            {
                var a = c2 < 8 ? 0 : bottom;
                x2 += (long)((double)(a - y2) * (x2 - x1) / (y2 - y1));
                y2 = a;
                c2 = (x2 < 0 ? 1 : 0) + (x2 > right ? 2 : 0);
            }

            if ((c1 & c2) == 0 && (c1 | c2) != 0)
            {
                if (c1 != 0)
                {
                    var a = c1 == 1 ? 0 : right;
                    y1 += (long)((double)(a - x1) * (y2 - y1) / (x2 - x1));
                    x1 = a;
                    c1 = 0;
                }

                if (c2 != 0)
                {
                    var a = c2 == 1 ? 0 : right;
                    y2 += (long)((double)(a - x2) * (y2 - y1) / (x2 - x1));
                    x2 = a;
                    c2 = 0;
                }
            }
        }

        return (c1 | c2) == 0;
    }
}
