namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's TilePreprocessor (its TileDetector): the sides rounded to multiples of 64 (half to even),
/// the image shrunk with INTER_AREA to those sides ÷ 2^iterations (integer division), then enlarged by
/// <c>cv2.pyrUp</c> as many times. The result has the rounded size (for more than 6 iterations, that size floored to a
/// multiple of 2^iterations); aux's resolution input is not used by it.
/// </summary>
public static class TileResample
{
    /// <summary>The result's size for an input of <paramref name="height"/> × <paramref name="width"/>: zero sides mean no result.</summary>
    public static (int Height, int Width) ResultSize(int height, int width, int iterations)
    {
        var (smallHeight, smallWidth) = SmallSize(height, width, iterations);
        return (smallHeight << iterations, smallWidth << iterations);
    }

    /// <summary>The blurred image.</summary>
    /// <exception cref="ArgumentException">The image is too small for <paramref name="iterations"/> (the shrunk image would be empty).</exception>
    public static Rgb8Image Apply(Rgb8Image image, int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 0);
        var (height, width) = SmallSize(image.Height, image.Width, iterations);
        if (height < 1 || width < 1)
        {
            int roundedHeight = (int)Math.Round(image.Height / 64.0) * 64, roundedWidth = (int)Math.Round(image.Width / 64.0) * 64;
            if (roundedHeight == 0 || roundedWidth == 0)
                throw new ArgumentException($"image: the tile preprocessor rounds the sides to multiples of 64, so it needs images at least 32 pixels high and wide; this one is {image.Width}×{image.Height}");
            var most = (int)Math.Log2(Math.Min(roundedHeight, roundedWidth));
            throw new ArgumentException($"pyrUp_iters: {roundedWidth}×{roundedHeight} (the image's sides rounded to multiples of 64) halved {iterations} times is empty; use at most {most} iterations for this image");
        }

        var result = OpenCvResize.Area(image, height, width);
        for (var i = 0; i < iterations; i++) result = OpenCvPyramid.Up(result);
        return result;
    }

    private static (int Height, int Width) SmallSize(int height, int width, int iterations) =>
        ((int)Math.Round(height / 64.0) * 64 >> iterations, (int)Math.Round(width / 64.0) * 64 >> iterations);
}
