namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The ControlNet content shuffle annotator (<c>ContentShuffleDetector</c>): two smooth noise fields — numpy's
/// <c>make_noise_disk</c>: a (h / 256 + 2) × (w / 256 + 2) grid of uniform draws (row-major, x's field first), enlarged with
/// INTER_CUBIC (float64) to (h + 512) × (w + 512), its centre h × w kept and stretched to 0 … 1 — scaled to the image's
/// width − 1 and height − 1, stored as float32, are the coordinates <see cref="OpenCvRemap.Bilinear"/> samples the image at.
/// comfyui_controlnet_aux shuffles the image padded to multiples of 64 and crops after; sd-webui-controlnet crops first.
/// </summary>
public static class ContentShuffle
{
    private const int Cell = 256;

    /// <summary>The image scaled so its short side is <paramref name="resolution"/> (<see cref="AnnotatorInput"/>), shuffled.</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution.</param>
    /// <param name="padded">Whether the padded image is shuffled (aux) rather than the cropped one (the extension).</param>
    /// <param name="uniform">numpy's uniform doubles in [0, 1), in the order the annotator draws them.</param>
    /// <param name="cancellationToken">Cancels between the steps.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, bool padded, Func<double> uniform, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uniform);
        var (paddedImage, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var source = padded ? paddedImage : paddedImage.Crop(height, width);
        int h = source.Height, w = source.Width;
        var x = NoiseDisk(h, w, uniform);
        cancellationToken.ThrowIfCancellationRequested();
        var y = NoiseDisk(h, w, uniform);
        cancellationToken.ThrowIfCancellationRequested();
        var mapX = x.Select(v => (float)(v * (w - 1))).ToArray();
        var mapY = y.Select(v => (float)(v * (h - 1))).ToArray();
        return OpenCvRemap.Bilinear(source, h, w, mapX, mapY).Crop(height, width);
    }

    /// <summary><c>make_noise_disk(h, w, 1, 256)</c>: smooth noise of <paramref name="height"/> × <paramref name="width"/> in 0 … 1.</summary>
    public static double[] NoiseDisk(int height, int width, Func<double> uniform)
    {
        ArgumentNullException.ThrowIfNull(uniform);
        int gridHeight = height / Cell + 2, gridWidth = width / Cell + 2;
        var grid = new double[gridHeight * gridWidth];
        for (var i = 0; i < grid.Length; i++) grid[i] = uniform();
        int bigHeight = height + 2 * Cell, bigWidth = width + 2 * Cell;
        var big = OpenCvResize.CubicDouble(grid, gridHeight, gridWidth, 1, bigHeight, bigWidth);
        var noise = new double[height * width];
        for (var row = 0; row < height; row++) Array.Copy(big, (row + Cell) * bigWidth + Cell, noise, row * width, width);
        var min = noise.Min();
        for (var i = 0; i < noise.Length; i++) noise[i] -= min;
        var max = noise.Max();
        for (var i = 0; i < noise.Length; i++) noise[i] /= max;
        return noise;
    }
}
