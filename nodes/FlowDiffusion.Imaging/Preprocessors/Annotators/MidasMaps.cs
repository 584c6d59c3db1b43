namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The ControlNet MiDaS annotator's depth and normal maps around its network (given as <c>network</c>: planar RGB as
/// x / 127.5 − 1, sides multiples of 64 → the relative inverse depth plane at the same size), as lllyasviel's
/// <c>MidasDetector</c> computes them and comfyui_controlnet_aux and sd-webui-controlnet call it: the image through
/// <see cref="AnnotatorInput.ResizeWithPad"/>, the network on the whole padded image (no resize to 384), then
/// <list type="bullet">
/// <item>depth: (d − min) / (max − min) · 255 over the padded map, in float32, truncated to bytes
/// (<see cref="DepthAnythingMap.Bytes"/>), grey;</item>
/// <item>normal: OpenCV's 3 × 3 Sobel derivatives (x, y; reflect-101 borders, float32) of the raw depth, zeroed where the
/// min–max depth is below the background threshold, z = <c>a</c> everywhere, the vector divided by its length,
/// · 127.5 + 127.5, clipped and truncated; RGB = (x, y, z) in the extension, reversed to (z, y, x) in aux (its detector
/// flips the channels, [:, :, ::-1]);</item>
/// </list>
/// both then cropped to the scaled size. A pixel whose vector has no length (a = 0 on flat depth) is 0.
/// </summary>
public static class MidasMaps
{
    /// <summary>
    /// The most 16 × 16 patches the network is given: 16 × the 24² it was trained at (a padded 1536 × 1536 image). Its
    /// attention holds patches² scores per head (12 heads), about 4 GB of float32 here; the pixel limit alone would allow
    /// 65,536 patches (a 4096² image), whose scores no machine holds.
    /// </summary>
    public const int MaxPatches = 16 * 24 * 24;

    /// <summary>The padded size the network sees for an image of <paramref name="height"/> × <paramref name="width"/> at <paramref name="resolution"/>, and its 16 × 16 patches.</summary>
    public static (int Height, int Width, long Patches) NetworkSize(int height, int width, int resolution)
    {
        var (scaledHeight, scaledWidth) = AnnotatorInput.ScaledSize(height, width, resolution);
        int paddedHeight = (scaledHeight + 63) / 64 * 64, paddedWidth = (scaledWidth + 63) / 64 * 64;
        return (paddedHeight, paddedWidth, (long)(paddedHeight / 16) * (paddedWidth / 16));
    }

    /// <summary>The annotators' default <c>a</c> (2π): the normal's z against the depth's slopes.</summary>
    public const float DefaultA = MathF.PI * 2f;

    /// <summary>The network's planar input for the padded image: each byte / 127.5 − 1 in float32.</summary>
    public static float[] Input(Rgb8Image padded)
    {
        ArgumentNullException.ThrowIfNull(padded);
        var plane = padded.Height * padded.Width;
        var pixels = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            pixels[c * plane + i] = padded.Pixels[3 * i + c] / 127.5f - 1f;
        return pixels;
    }

    /// <summary>The depth and normal maps of <paramref name="image"/> at the scaled size.</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="a">The normal's z (2π by default).</param>
    /// <param name="backgroundThreshold">Below this min–max depth (0..1) the normal's x and y are zero.</param>
    /// <param name="reverseNormal">aux's channel order (z, y, x) rather than the extension's (x, y, z).</param>
    /// <param name="network">Runs the network on planar [3, height, width] values; returns height × width values.</param>
    public static (Rgb8Image Depth, Rgb8Image Normal) Apply(Rgb8Image image, int resolution, float a, float backgroundThreshold, bool reverseNormal, Func<float[], int, int, float[]> network)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var depth = network(Input(padded), padded.Height, padded.Width);
        var bytes = DepthAnythingMap.Bytes(depth);
        var normal = Normal(depth, padded.Height, padded.Width, a, backgroundThreshold, reverseNormal);
        return (Rgb8Image.Grey(padded.Height, padded.Width, bytes).Crop(height, width), normal.Crop(height, width));
    }

    /// <summary>The normal map of a raw depth plane (see the class summary).</summary>
    public static Rgb8Image Normal(float[] depth, int height, int width, float a, float backgroundThreshold, bool reverse)
    {
        ArgumentNullException.ThrowIfNull(depth);
        var x = Sobel(depth, height, width, horizontal: true);
        var y = Sobel(depth, height, width, horizontal: false);
        float min = depth.Min(), range = depth.Max() - min;
        var pixels = new byte[3 * depth.Length];
        for (var i = 0; i < depth.Length; i++)
        {
            // depth_pt = (d − min) / max(d − min): NaN (not below) when the map is flat, as in torch.
            if ((depth[i] - min) / range < backgroundThreshold) x[i] = y[i] = 0f;
            var length = MathF.Sqrt(x[i] * x[i] + y[i] * y[i] + a * a);
            ReadOnlySpan<float> vector = [x[i] / length, y[i] / length, a / length];
            for (var c = 0; c < 3; c++)
            {
                var v = vector[reverse ? 2 - c : c] * 127.5f + 127.5f;
                pixels[3 * i + c] = float.IsNaN(v) ? (byte)0 : (byte)Math.Clamp(v, 0f, 255f);
            }
        }

        return new Rgb8Image(height, width, pixels);
    }

    /// <summary>cv2.Sobel(src, CV_32F, 1, 0) (<paramref name="horizontal"/>) or (0, 1), ksize 3, BORDER_REFLECT_101: [−1 0 1] along the derivative, [1 2 1] across it.</summary>
    public static float[] Sobel(float[] plane, int height, int width, bool horizontal)
    {
        ArgumentNullException.ThrowIfNull(plane);
        var result = new float[plane.Length];
        for (var r = 0; r < height; r++)
        {
            int up = Reflect(r - 1, height), down = Reflect(r + 1, height);
            for (var c = 0; c < width; c++)
            {
                int left = Reflect(c - 1, width), right = Reflect(c + 1, width);
                float At(int row, int column) => plane[row * width + column];
                result[r * width + c] = horizontal
                    ? (At(up, right) - At(up, left)) + 2f * (At(r, right) - At(r, left)) + (At(down, right) - At(down, left))
                    : (At(down, left) + 2f * At(down, c) + At(down, right)) - (At(up, left) + 2f * At(up, c) + At(up, right));
            }
        }

        return result;
    }

    // OpenCV's BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba); a single row or column reflects onto itself.
    private static int Reflect(int i, int n) => n == 1 ? 0 : i < 0 ? -i : i >= n ? 2 * n - 2 - i : i;
}
