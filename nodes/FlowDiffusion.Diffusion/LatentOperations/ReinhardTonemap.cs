namespace FlowDiffusion.Diffusion.LatentOperations;

/// <summary>
/// ComfyUI's LatentOperationTonemapReinhard: each pixel's channel vector keeps its direction and its length m (plus
/// 10⁻¹⁰) is compressed as Reinhard's tone map does, m·top / (m + top), where per batch item top = (5·std + mean) ·
/// multiplier of the lengths (std with Bessel's correction). A multiplier of 0 gives zero latents (ComfyUI's NaN), and
/// an item of one pixel has std 0 (ComfyUI's NaN).
/// </summary>
/// <param name="multiplier">The factor on top (ComfyUI's range 0 … 100).</param>
public sealed class ReinhardTonemap(double multiplier) : LatentOperation
{
    /// <summary>The factor on top.</summary>
    public double Multiplier { get; } = multiplier;

    /// <inheritdoc />
    public override void Apply(Span<double> latent, int batch, int channels, int height, int width)
    {
        CheckShape(latent, batch, channels, height, width);
        var plane = height * width;
        var lengths = Lengths(latent, batch, channels, plane, 1e-10);
        for (var b = 0; b < batch; b++)
        {
            var item = lengths.AsSpan(b * plane, plane);
            double mean = 0;
            foreach (var m in item) mean += m;
            mean /= plane;
            double squares = 0;
            foreach (var m in item) squares += (m - mean) * (m - mean);
            var std = plane > 1 ? Math.Sqrt(squares / (plane - 1)) : 0;
            var top = (std * 5 + mean) * Multiplier;
            for (var p = 0; p < plane; p++)
            {
                var m = item[p];
                // (m/top) / (m/top + 1) · top, written so that top 0 gives 0 rather than 0/0.
                var compressed = top == 0 ? 0 : m / top / (m / top + 1) * top;
                for (var c = 0; c < channels; c++) latent[(b * channels + c) * plane + p] *= compressed / m;
            }
        }
    }
}
