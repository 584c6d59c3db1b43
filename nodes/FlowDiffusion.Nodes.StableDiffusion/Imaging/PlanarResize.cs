namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// Resizes planar [planes, H, W] float data the way torch's <c>interpolate</c> does (align_corners false, no antialias):
/// nearest-exact, bilinear, bicubic (A = −0.75, borders clamped) and area; Lanczos (a = 3) as Pillow resamples; and
/// ComfyUI's bislerp over groups of <c>channels</c> planes (<see cref="Bislerp"/>); with ComfyUI's optional centre crop
/// to the target aspect first.
/// </summary>
internal static class PlanarResize
{
    /// <summary>The methods, as ComfyUI names them.</summary>
    public static readonly string[] Methods = ["nearest-exact", "bilinear", "bicubic", "area", "lanczos", "bislerp"];

    /// <summary>
    /// Resizes <paramref name="planes"/> planes; bislerp treats each run of <paramref name="channels"/> planes as one
    /// item's channel vectors (the other methods resize every plane alone).
    /// </summary>
    public static float[] Resize(ReadOnlySpan<float> source, int planes, int height, int width, int newHeight, int newWidth, string method, bool centerCrop, int channels = 1)
    {
        if (newHeight < 1 || newWidth < 1) throw new ArgumentException($"cannot resize to {newWidth}×{newHeight}");
        int top = 0, left = 0, cropHeight = height, cropWidth = width;
        if (centerCrop)
        {
            double oldAspect = (double)width / height, newAspect = (double)newWidth / newHeight;
            if (oldAspect > newAspect) left = (int)Math.Round((width - width * (newAspect / oldAspect)) / 2, MidpointRounding.ToEven);
            else if (oldAspect < newAspect) top = (int)Math.Round((height - height * (oldAspect / newAspect)) / 2, MidpointRounding.ToEven);
            cropHeight = height - 2 * top;
            cropWidth = width - 2 * left;
        }

        if (method == "bislerp")
            return Bislerp.Resize(source, planes / channels, channels, height, width, top, left, cropHeight, cropWidth, newHeight, newWidth);

        var result = new float[planes * newHeight * newWidth];
        var rows = Axis(cropHeight, newHeight, method);
        var columns = Axis(cropWidth, newWidth, method);
        for (var p = 0; p < planes; p++)
        {
            var plane = source.Slice(p * height * width, height * width);
            for (var y = 0; y < newHeight; y++)
            for (var x = 0; x < newWidth; x++)
            {
                double sum = 0;
                foreach (var (row, rowWeight) in rows[y])
                foreach (var (column, columnWeight) in columns[x])
                    sum += rowWeight * columnWeight * plane[(top + row) * width + left + column];
                result[(p * newHeight + y) * newWidth + x] = (float)sum;
            }
        }

        return result;
    }

    // For each output index, the input indices and weights along one axis.
    private static (int Index, double Weight)[][] Axis(int size, int newSize, string method)
    {
        var scale = (float)size / newSize;
        var axis = new (int, double)[newSize][];
        for (var i = 0; i < newSize; i++)
        {
            axis[i] = method switch
            {
                "nearest-exact" => [(Math.Min((int)MathF.Floor((i + 0.5f) * scale), size - 1), 1.0)],
                "bilinear" => Bilinear(i, scale, size),
                "bicubic" => Bicubic(i, scale, size),
                "lanczos" => Lanczos(i, size, newSize),
                AntialiasedBicubic => BicubicAntialiased(i, size, newSize),
                "area" => Area(i, size, newSize),
                _ => throw new ArgumentException($"unknown resize method '{method}'; valid: {string.Join(", ", Methods)}"),
            };
        }

        return axis;
    }

    private static (int, double)[] Bilinear(int i, float scale, int size)
    {
        var source = Math.Max((i + 0.5f) * scale - 0.5f, 0f);
        var low = Math.Min((int)source, size - 1);
        var high = Math.Min(low + 1, size - 1);
        var lambda = source - low;
        return [(low, 1 - lambda), (high, lambda)];
    }

    // torch's upsample_bicubic2d: source (i + ½)·scale − ½ unclamped, Keys' cubic convolution with A = −0.75 over the
    // four nearest samples, indices clamped to the border.
    private static (int, double)[] Bicubic(int i, float scale, int size)
    {
        const float A = -0.75f;
        var source = (i + 0.5f) * scale - 0.5f;
        var floor = (int)MathF.Floor(source);
        var t = source - floor;
        static float Near(float x) => ((A + 2) * x - (A + 3)) * x * x + 1;
        static float Far(float x) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
        float[] weights = [Far(t + 1), Near(t), Near(1 - t), Far(2 - t)];
        return [.. Enumerable.Range(0, 4).Select(k => (Math.Clamp(floor - 1 + k, 0, size - 1), (double)weights[k]))];
    }

    // Pillow's resampling coefficients: the Lanczos-3 kernel sinc(x)·sinc(x/3), stretched by the downscale factor (so it
    // also antialiases), over the samples within its support of the output pixel's centre, normalised to sum 1.
    private static (int, double)[] Lanczos(int i, int size, int newSize)
    {
        const double Support = 3.0;
        var scale = (double)size / newSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = Support * filterScale;
        var center = (i + 0.5) * scale;
        var min = Math.Max((int)(center - support + 0.5), 0);
        var max = Math.Min((int)(center + support + 0.5), size);
        static double Sinc(double x) => x == 0 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);
        var taps = Enumerable.Range(min, max - min).Select(k =>
        {
            var x = (k - center + 0.5) / filterScale;
            return (k, x is >= -Support and < Support ? Sinc(x) * Sinc(x / Support) : 0.0);
        }).ToArray();
        var sum = taps.Sum(t => t.Item2);
        return sum == 0 ? taps : [.. taps.Select(t => (t.k, t.Item2 / sum))];
    }

    /// <summary>
    /// torch's bicubic <c>interpolate</c> with <c>antialias=True</c> (Pillow's bicubic): Keys' cubic with A = −0.5, stretched by
    /// the downscale factor: what CLIP's preprocessing resizes with. Not one of image.resize's <see cref="Methods"/>.
    /// </summary>
    internal const string AntialiasedBicubic = "bicubic-antialias";

    // torch's _upsample_bicubic2d_aa weights: the support 2 × max(scale, 1) around the output pixel's centre, the kernel's
    // argument divided by the downscale factor, normalised to sum 1.
    private static (int, double)[] BicubicAntialiased(int i, int size, int newSize)
    {
        const double A = -0.5;
        var scale = (double)size / newSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = 2.0 * filterScale;
        var center = (i + 0.5) * scale;
        var min = Math.Max((int)(center - support + 0.5), 0);
        var max = Math.Min((int)(center + support + 0.5), size);
        static double Cubic(double x)
        {
            x = Math.Abs(x);
            return x < 1 ? (((A + 2) * x) - (A + 3)) * x * x + 1 : x < 2 ? ((((x - 5) * x) + 8) * x - 4) * A : 0;
        }

        var taps = Enumerable.Range(min, max - min).Select(k => (k, Cubic((k - center + 0.5) / filterScale))).ToArray();
        var sum = taps.Sum(t => t.Item2);
        return sum == 0 ? taps : [.. taps.Select(t => (t.k, t.Item2 / sum))];
    }

    private static (int, double)[] Area(int i, int size, int newSize)
    {
        // Adaptive average pooling: [floor(i·in/out), ceil((i+1)·in/out)).
        var start = (int)Math.Floor((double)i * size / newSize);
        var end = (int)Math.Ceiling((double)(i + 1) * size / newSize);
        return Enumerable.Range(start, end - start).Select(k => (k, 1.0 / (end - start))).ToArray();
    }
}
