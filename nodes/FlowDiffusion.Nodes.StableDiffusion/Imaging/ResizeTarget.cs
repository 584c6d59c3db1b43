namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// The target size the image and latent resize nodes share, ComfyUI's rules: a scale factor (its "… By" nodes) rounds
/// the input's own size half to even as Python's <c>round</c>; otherwise width × height, where a 0 side follows the
/// other side's scale, and both 0 keep the size (null).
/// </summary>
internal static class ResizeTarget
{
    public static (int Width, int Height)? Of(int oldWidth, int oldHeight, int width, int height, double scaleBy, int minimum)
    {
        if (width < 0 || height < 0) throw new ArgumentException($"width and height cannot be negative; got {width}×{height}");
        if (scaleBy > 0) return (Scaled(oldWidth, scaleBy), Scaled(oldHeight, scaleBy));
        if (width == 0 && height == 0) return null;
        if (width == 0)
        {
            height = Math.Max(minimum, height);
            width = Math.Max(minimum, Round((double)oldWidth * height / oldHeight));
        }
        else if (height == 0)
        {
            width = Math.Max(minimum, width);
            height = Math.Max(minimum, Round((double)oldHeight * width / oldWidth));
        }
        return (Math.Max(minimum, width), Math.Max(minimum, height));
    }

    /// <summary>
    /// ComfyUI's ImageScaleToMaxDimension: the longer side becomes <paramref name="largest"/>, the other
    /// round(side / longer · largest) half to even (computed in that order, as Python does); a square becomes largest².
    /// </summary>
    /// <exception cref="ArgumentException">The shorter side rounds to 0.</exception>
    public static (int Width, int Height) Largest(int oldWidth, int oldHeight, int largest)
    {
        var (width, height) = oldHeight > oldWidth ? (Round((double)oldWidth / oldHeight * largest), largest)
            : oldWidth > oldHeight ? (largest, Round((double)oldHeight / oldWidth * largest))
            : (largest, largest);
        if (width < 1 || height < 1)
            throw new ArgumentException($"largest_size {largest} makes this {oldWidth}×{oldHeight} image {width}×{height} pixels, an empty image; use a larger largest_size");
        return (width, height);
    }

    private static int Scaled(int side, double scale) => Math.Max(1, Round(side * scale));

    private static int Round(double value) =>
        value > 1 << 20 ? throw new ArgumentException($"a resized side of {value:F0} is too large") : (int)Math.Round(value, MidpointRounding.ToEven);
}
