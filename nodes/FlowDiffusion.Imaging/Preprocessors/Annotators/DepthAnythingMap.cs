namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// Depth Anything's depth map around its network (given as <c>network</c>: planar ImageNet-normalised RGB, sides multiples
/// of 14 → the depth plane at the same size). The network's input is the image as float64 0..1, resized by
/// cv2.INTER_CUBIC (<see cref="OpenCvResize.CubicDouble"/>) to <see cref="InputSize"/> (the short side at least
/// <c>inputSize</c>, 518 by default, both sides multiples of 14), less ImageNet's mean over its std, in float32.
/// The depth is then, as <see cref="DepthAnythingVariant"/> says:
/// <list type="bullet">
/// <item>aux V1: the network on the whole image, resized bilinearly (torch, half-pixel) to the scaled size (the short side at
/// the resolution), min–max stretched to 0..255 in float32 and truncated to bytes.</item>
/// <item>aux V2: the network on the whole image, resized bilinearly with align_corners to the image's size, stretched to bytes
/// likewise, then that byte map resized as <see cref="AnnotatorInput"/> does (cubic up, area down) to the scaled size.</item>
/// <item>extension: the network on <see cref="AnnotatorInput.ResizeWithPad"/>'s padded image with red and blue swapped
/// (its detector converts BGR to RGB on an RGB image), resized bilinearly (half-pixel) to the padded size, stretched to bytes
/// over the padded map, then cropped.</item>
/// </list>
/// A map without range (max = min) is black. The result is grey in all three channels.
/// </summary>
public static class DepthAnythingMap
{
    /// <summary>The upstream input size.</summary>
    public const int DefaultInputSize = 518;

    /// <summary>
    /// The most 14 × 14 patches the network is given: 4 × the 37² it was trained at (a 1036² input). Its attention holds
    /// patches² float32 scores per head — 1.9 GB for vitl's 16 heads, 2.9 GB for vitg's 24 here; 16 × 37², the limit
    /// before, asked 31 GB of vitl, more than most machines have.
    /// </summary>
    public const int MaxPatches = 4 * 37 * 37;

    /// <summary>The largest <c>input_size</c>: the short side of a square input of <see cref="MaxPatches"/> patches.</summary>
    public const int MaxInputSize = 2 * 37 * 14;

    private static readonly double[] Mean = [0.485, 0.456, 0.406];
    private static readonly double[] Std = [0.229, 0.224, 0.225];

    /// <summary>
    /// The network's input size for an image of <paramref name="height"/> × <paramref name="width"/>: Depth Anything's
    /// <c>Resize</c> (keep_aspect_ratio, lower_bound, ensure_multiple_of 14): both sides scaled by the larger of
    /// inputSize / side, each rounded (half to even) to a multiple of 14, rounded up instead where that falls below inputSize.
    /// </summary>
    public static (int Height, int Width) InputSize(int height, int width, int inputSize = DefaultInputSize)
    {
        double scaleHeight = (double)inputSize / height, scaleWidth = (double)inputSize / width;
        var scale = Math.Max(scaleHeight, scaleWidth);
        return (Multiple(scale * height, inputSize), Multiple(scale * width, inputSize));
    }

    /// <summary>The depth map.</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side of the result).</param>
    /// <param name="variant">Whose pipeline.</param>
    /// <param name="network">Runs the network on planar [3, height, width] values; returns height × width values.</param>
    /// <param name="inputSize">The network input's short side at least (518 upstream).</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, DepthAnythingVariant variant, Func<float[], int, int, float[]> network, int inputSize = DefaultInputSize)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var (height, width) = AnnotatorInput.ScaledSize(image.Height, image.Width, resolution);
        switch (variant)
        {
            case DepthAnythingVariant.AuxV1:
                return Rgb8Image.Grey(height, width, Bytes(Bilinear(Depth(image, network, inputSize, swap: false), height, width, alignCorners: false)));
            case DepthAnythingVariant.AuxV2:
                var full = Rgb8Image.Grey(image.Height, image.Width, Bytes(Bilinear(Depth(image, network, inputSize, swap: false), image.Height, image.Width, alignCorners: true)));
                return AnnotatorInput.ResizeWithPad(full, resolution).Padded.Crop(height, width);
            default:
                var (padded, _, _) = AnnotatorInput.ResizeWithPad(image, resolution);
                var map = Bytes(Bilinear(Depth(padded, network, inputSize, swap: true), padded.Height, padded.Width, alignCorners: false));
                return Rgb8Image.Grey(padded.Height, padded.Width, map).Crop(height, width);
        }
    }

    /// <summary>The network's planar input for <paramref name="image"/> (<paramref name="swap"/>: red and blue exchanged).</summary>
    public static (float[] Pixels, int Height, int Width) Input(Rgb8Image image, int inputSize, bool swap)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (height, width) = InputSize(image.Height, image.Width, inputSize);
        var source = new double[image.Pixels.Length];
        for (var i = 0; i < source.Length; i++)
        {
            var c = i % 3;
            source[i] = image.Pixels[swap ? i - c + 2 - c : i] / 255.0;
        }

        var resized = OpenCvResize.CubicDouble(source, image.Height, image.Width, 3, height, width);
        var plane = height * width;
        var pixels = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            pixels[c * plane + i] = (float)((resized[3 * i + c] - Mean[c]) / Std[c]);
        return (pixels, height, width);
    }

    /// <summary>torch's bilinear <c>interpolate</c> of one float plane (no antialiasing), in float32 as its CPU kernel computes it.</summary>
    public static float[] Bilinear((float[] Values, int Height, int Width) source, int height, int width, bool alignCorners)
    {
        var (values, sourceHeight, sourceWidth) = source;
        var rows = Taps(sourceHeight, height, alignCorners);
        var columns = Taps(sourceWidth, width, alignCorners);
        var result = new float[height * width];
        for (var y = 0; y < height; y++)
        {
            var (y0, y1, fy) = rows[y];
            for (var x = 0; x < width; x++)
            {
                var (x0, x1, fx) = columns[x];
                result[y * width + x] = (1 - fy) * ((1 - fx) * values[y0 * sourceWidth + x0] + fx * values[y0 * sourceWidth + x1])
                    + fy * ((1 - fx) * values[y1 * sourceWidth + x0] + fx * values[y1 * sourceWidth + x1]);
            }
        }

        return result;
    }

    /// <summary>(d − min) / (max − min) · 255 in float32, truncated to bytes; all 0 when max = min.</summary>
    public static byte[] Bytes(float[] depth)
    {
        ArgumentNullException.ThrowIfNull(depth);
        float min = depth.Min(), max = depth.Max();
        var bytes = new byte[depth.Length];
        if (!(max > min)) return bytes;
        var range = max - min;
        for (var i = 0; i < depth.Length; i++) bytes[i] = (byte)Math.Clamp((depth[i] - min) / range * 255f, 0f, 255f);
        return bytes;
    }

    private static (float[] Values, int Height, int Width) Depth(Rgb8Image image, Func<float[], int, int, float[]> network, int inputSize, bool swap)
    {
        var (pixels, height, width) = Input(image, inputSize, swap);
        return (network(pixels, height, width), height, width);
    }

    // constrain_to_multiple_of with min_val: round(x / 14) · 14 (half to even), ceil instead below the minimum.
    private static int Multiple(double x, int minimum)
    {
        var y = (int)Math.Round(x / 14, MidpointRounding.ToEven) * 14;
        return y < minimum ? (int)Math.Ceiling(x / 14) * 14 : y;
    }

    // torch's source index per output index: align_corners ? d · (in − 1)/(out − 1) : max((d + 0.5) · in/out − 0.5, 0), in float32.
    private static (int I0, int I1, float F)[] Taps(int source, int destination, bool alignCorners)
    {
        var scale = alignCorners ? (destination > 1 ? (float)(source - 1) / (destination - 1) : 0f) : (float)source / destination;
        var taps = new (int, int, float)[destination];
        for (var d = 0; d < destination; d++)
        {
            var real = alignCorners ? scale * d : Math.Max(scale * (d + 0.5f) - 0.5f, 0f);
            var i0 = Math.Min((int)real, source - 1);
            var lambda = real - i0;
            taps[d] = (i0, i0 < source - 1 ? i0 + 1 : i0, lambda);
        }

        return taps;
    }
}
