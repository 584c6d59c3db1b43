using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// The fast linear latent → RGB approximation of SD 1.x latents (the per-channel factors ComfyUI and A1111 use for
/// their cheap previews), upsampled 8× by repetition to image size.
/// </summary>
internal static class LatentRgb
{
    // rgb = Σ_c latent_c · Factors[c], for SD 1.x's 4 latent channels; the result is roughly in [-1, 1].
    public static readonly float[,] Factors =
    {
        { 0.3512f, 0.2297f, 0.3227f },
        { 0.3250f, 0.4974f, 0.2350f },
        { -0.2829f, 0.1762f, 0.2721f },
        { -0.2120f, -0.2616f, -0.7177f },
    };

    public static Image ToImage(ReadOnlySpan<float> latents, int batch, int channels, int height, int width, int upscale = 8)
    {
        if (channels != 4) throw new ArgumentException($"the linear preview knows SD 1.x's 4 latent channels, not {channels}");
        int outH = height * upscale, outW = width * upscale, plane = outH * outW, lplane = height * width;
        // Every element is written below, so the buffer need not be zeroed first.
        var pixels = GC.AllocateUninitializedArray<float>(batch * 3 * plane);
        for (var b = 0; b < batch; b++)
        for (var rgb = 0; rgb < 3; rgb++)
        {
            var target = pixels.AsSpan((b * 3 + rgb) * plane, plane);
            for (var y = 0; y < height; y++)
            {
                // One latent row becomes the first of its `upscale` image rows, then that row is copied down.
                var row = target.Slice(y * upscale * outW, outW);
                for (var x = 0; x < width; x++)
                {
                    var i = y * width + x;
                    var v = 0f;
                    for (var c = 0; c < 4; c++) v += latents[(b * 4 + c) * lplane + i] * Factors[c, rgb];
                    row.Slice(x * upscale, upscale).Fill(Math.Clamp((v + 1f) * 0.5f, 0f, 1f));
                }
                for (var dy = 1; dy < upscale; dy++) row.CopyTo(target[((y * upscale + dy) * outW)..]);
            }
        }
        return new Image(batch, outH, outW, pixels);
    }
}
