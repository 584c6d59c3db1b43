namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// ComfyUI's image blur: a (2r + 1)² gaussian whose taps sit on −1 … 1 whatever the radius (tap i at (i − r) / r), so
/// sigma is a fraction of the radius, normalised to sum 1; the planes are padded by reflection (the edge pixel not
/// repeated), so the radius must be smaller than each side. The kernel is a product of two 1-D ones, so it is applied
/// as two passes.
/// </summary>
internal static class GaussianBlur
{
    /// <summary>The 1-D weights, 2 · <paramref name="radius"/> + 1 of them, summing to 1.</summary>
    public static float[] Weights(int radius, double sigma)
    {
        var weights = new double[2 * radius + 1];
        for (var i = 0; i < weights.Length; i++)
        {
            var x = (double)(i - radius) / radius;
            weights[i] = Math.Exp(-(x * x) / (2 * sigma * sigma));
        }

        var sum = weights.Sum();
        return weights.Select(w => (float)(w / sum)).ToArray();
    }

    /// <summary>Blurs each of <paramref name="planes"/> planes of <paramref name="height"/> × <paramref name="width"/>.</summary>
    /// <exception cref="ArgumentException">The radius is not smaller than each side; names <paramref name="radiusName"/>.</exception>
    public static float[] Blur(ReadOnlySpan<float> source, int planes, int height, int width, int radius, double sigma, string radiusName, CancellationToken cancellationToken)
    {
        if (radius >= height || radius >= width)
            throw new ArgumentException($"{radiusName} {radius} needs images more than {radius} pixels high and wide (they are padded by reflection, as ComfyUI pads them); these are {width}×{height}");
        var weights = Weights(radius, sigma);
        var result = new float[planes * height * width];
        var across = new float[height * width];
        for (var p = 0; p < planes; p++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var plane = source.Slice(p * height * width, height * width);
            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                float sum = 0;
                for (var i = -radius; i <= radius; i++) sum += weights[i + radius] * plane[y * width + Reflect(x + i, width)];
                across[y * width + x] = sum;
            }

            var output = result.AsSpan(p * height * width, height * width);
            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                float sum = 0;
                for (var i = -radius; i <= radius; i++) sum += weights[i + radius] * across[Reflect(y + i, height) * width + x];
                output[y * width + x] = sum;
            }
        }

        return result;
    }

    // torch's 'reflect' padding: −1 reads 1 and size reads size − 2.
    private static int Reflect(int index, int size) => index < 0 ? -index : index >= size ? 2 * (size - 1) - index : index;
}
