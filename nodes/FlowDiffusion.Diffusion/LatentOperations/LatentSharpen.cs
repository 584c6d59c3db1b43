namespace FlowDiffusion.Diffusion.LatentOperations;

/// <summary>
/// ComfyUI's LatentOperationSharpen: each pixel's channel vector is split into its length (plus 10⁻⁶) and its direction;
/// each channel of the direction field is sharpened as n + 10·alpha·(n − blur(n)) — ComfyUI's kernel −10·alpha·g with
/// its centre raised by 1 − its sum — where blur is the (2r + 1)² gaussian g whose taps sit on −1 … 1 (sigma a fraction
/// of the radius), normalised, over the planes padded by reflection; the result is scaled back by the length. The
/// radius must be smaller than the latent's height and width, as torch's reflection padding requires.
/// </summary>
/// <param name="radius">Taps on each side of the centre (ComfyUI's sharpen_radius, 1 … 31).</param>
/// <param name="sigma">The gaussian's sigma on the −1 … 1 grid (0.1 … 10).</param>
/// <param name="alpha">The strength (0 … 5).</param>
public sealed class LatentSharpen(int radius, double sigma, double alpha) : LatentOperation
{
    /// <summary>Taps on each side of the centre.</summary>
    public int Radius { get; } = radius;

    /// <summary>The gaussian's sigma.</summary>
    public double Sigma { get; } = sigma;

    /// <summary>The strength.</summary>
    public double Alpha { get; } = alpha;

    /// <inheritdoc />
    public override void Apply(Span<double> latent, int batch, int channels, int height, int width)
    {
        CheckShape(latent, batch, channels, height, width);
        if (Radius < 1 || Radius >= height || Radius >= width)
            throw new ArgumentException($"sharpen_radius {Radius} needs latents more than {Radius} pixels high and wide (they are padded by reflection, as ComfyUI pads them); these are {width}×{height}");
        var plane = height * width;
        var lengths = Lengths(latent, batch, channels, plane, 1e-6);
        var weights = Weights();
        var direction = new double[plane];
        var across = new double[plane];
        for (var b = 0; b < batch; b++)
        for (var c = 0; c < channels; c++)
        {
            var values = latent.Slice((b * channels + c) * plane, plane);
            var length = lengths.AsSpan(b * plane, plane);
            for (var p = 0; p < plane; p++) direction[p] = values[p] / length[p];
            // The 2-D gaussian is the product of two 1-D ones: rows, then columns.
            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                double sum = 0;
                for (var i = -Radius; i <= Radius; i++) sum += weights[i + Radius] * direction[y * width + Reflect(x + i, width)];
                across[y * width + x] = sum;
            }

            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                double blurred = 0;
                for (var i = -Radius; i <= Radius; i++) blurred += weights[i + Radius] * across[Reflect(y + i, height) * width + x];
                var n = direction[y * width + x];
                values[y * width + x] = length[y * width + x] * (n + 10 * Alpha * (n - blurred));
            }
        }
    }

    // The normalised 1-D gaussian on 2r + 1 taps from −1 to 1.
    private double[] Weights()
    {
        var weights = new double[2 * Radius + 1];
        for (var i = 0; i < weights.Length; i++)
        {
            var x = (double)(i - Radius) / Radius;
            weights[i] = Math.Exp(-(x * x) / (2 * Sigma * Sigma));
        }

        var sum = weights.Sum();
        for (var i = 0; i < weights.Length; i++) weights[i] /= sum;
        return weights;
    }

    // torch's 'reflect' padding: −1 reads 1 and size reads size − 2.
    private static int Reflect(int index, int size) => index < 0 ? -index : index >= size ? 2 * (size - 1) - index : index;
}
