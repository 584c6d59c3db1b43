namespace FlowDiffusion.Imaging;

/// <summary>
/// The maximum (or minimum) of every pixel's rectangular window, counting only pixels inside the plane: a queue of
/// indices whose values decrease (increase) along each row and then each column, so the work does not grow with the
/// window. Max and min only pick values, so the result is exact.
/// </summary>
public static class RunningExtreme
{
    /// <summary>
    /// Replaces each pixel of a <paramref name="height"/> × <paramref name="width"/> plane with the extreme of the window
    /// reaching <paramref name="before"/> pixels up and left and <paramref name="after"/> pixels down and right.
    /// </summary>
    /// <param name="plane">The plane, row after row; overwritten.</param>
    /// <param name="height">The plane's height.</param>
    /// <param name="width">The plane's width.</param>
    /// <param name="before">How far the window reaches up and left.</param>
    /// <param name="after">How far the window reaches down and right.</param>
    /// <param name="maximum">True for the maximum, false for the minimum.</param>
    /// <param name="cancellationToken">Stops the work between rows and columns.</param>
    public static void Box(Span<float> plane, int height, int width, int before, int after, bool maximum, CancellationToken cancellationToken = default)
    {
        var line = new float[Math.Max(height, width)];
        var output = new float[line.Length];
        var queue = new int[line.Length];
        for (var y = 0; y < height; y++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = plane.Slice(y * width, width);
            row.CopyTo(line);
            Line(line.AsSpan(0, width), output.AsSpan(0, width), before, after, maximum, queue);
            output.AsSpan(0, width).CopyTo(row);
        }

        for (var x = 0; x < width; x++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var y = 0; y < height; y++) line[y] = plane[y * width + x];
            Line(line.AsSpan(0, height), output.AsSpan(0, height), before, after, maximum, queue);
            for (var y = 0; y < height; y++) plane[y * width + x] = output[y];
        }
    }

    // output[i] = max (or min) of input[i − before … i + after] within the line; queue: room for the line's indices,
    // reused across the lines of a plane.
    private static void Line(ReadOnlySpan<float> input, Span<float> output, int before, int after, bool maximum, Span<int> queue)
    {
        var length = input.Length;
        int head = 0, tail = 0, next = 0;
        for (var i = 0; i < length; i++)
        {
            var last = (int)Math.Min(length - 1L, (long)i + after);
            for (; next <= last; next++)
            {
                while (tail > head && (maximum ? input[queue[tail - 1]] <= input[next] : input[queue[tail - 1]] >= input[next])) tail--;
                queue[tail++] = next;
            }

            while (queue[head] < (long)i - before) head++;
            output[i] = input[queue[head]];
        }
    }
}
