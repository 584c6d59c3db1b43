using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// The five channels a 9-channel inpainting UNet reads after the latents, per image: the mask (1 = repaint) and the
/// masked-image latents. The model input is latents (4) ‖ mask (1) ‖ masked-image latents (4), as diffusers and
/// ComfyUI concatenate them.
/// </summary>
internal static class InpaintChannels
{
    // ComfyUI's "blank" masked image for a sampler without a mask: black pixels in SD's latent space, per channel.
    private static readonly float[] BlankLatent = [0.8223f, -0.6876f, 0.6364f, 0.1380f];

    /// <summary>The mask and masked-image latents as given, [batch, 5, h, w].</summary>
    /// <param name="mask">The mask at latent size [batch, h, w].</param>
    /// <param name="maskedLatent">The masked-image latents [batch, 4, h, w].</param>
    /// <param name="shape">The latents' shape (4 channels).</param>
    public static float[] Of(float[] mask, float[] maskedLatent, LatentShape shape)
    {
        var plane = shape.Height * shape.Width;
        var extra = new float[shape.Batch * 5 * plane];
        for (var b = 0; b < shape.Batch; b++)
        {
            mask.AsSpan(b * plane, plane).CopyTo(extra.AsSpan(b * 5 * plane));
            maskedLatent.AsSpan(b * 4 * plane, 4 * plane).CopyTo(extra.AsSpan((b * 5 + 1) * plane));
        }

        return extra;
    }

    /// <summary>
    /// What ComfyUI's KSampler feeds: with a noise mask, that mask rounded to 0 or 1 and the sampler's own input latents
    /// (VAEEncodeForInpaint's, the image with the masked part grey); without one, a mask of ones and a black image.
    /// </summary>
    /// <param name="mask">The noise mask at latent size [batch, h, w], or null.</param>
    /// <param name="latentImage">The sampler's input latents [batch, 4, h, w].</param>
    /// <param name="shape">The latents' shape (4 channels).</param>
    public static float[] AsComfyUI(float[]? mask, float[] latentImage, LatentShape shape)
    {
        var plane = shape.Height * shape.Width;
        if (mask is not null)
            return Of(mask.Select(m => (float)Math.Round(m, MidpointRounding.ToEven)).ToArray(), latentImage, shape);
        var extra = new float[shape.Batch * 5 * plane];
        for (var b = 0; b < shape.Batch; b++)
        {
            extra.AsSpan(b * 5 * plane, plane).Fill(1);
            for (var c = 0; c < 4; c++) extra.AsSpan((b * 5 + 1 + c) * plane, plane).Fill(BlankLatent[c]);
        }

        return extra;
    }

    /// <summary>Writes the model input per image: <paramref name="scaled"/> (4 channels) then <paramref name="extra"/> (5).</summary>
    /// <param name="scaled">The scaled latents [batch, 4, h, w].</param>
    /// <param name="extra">The five channels [batch, 5, h, w].</param>
    /// <param name="shape">The latents' shape (4 channels).</param>
    /// <param name="destination">[batch, 9, h, w].</param>
    public static void Append(ReadOnlySpan<float> scaled, ReadOnlySpan<float> extra, LatentShape shape, Span<float> destination)
    {
        var plane = shape.Height * shape.Width;
        for (var b = 0; b < shape.Batch; b++)
        {
            scaled.Slice(b * 4 * plane, 4 * plane).CopyTo(destination.Slice(b * 9 * plane));
            extra.Slice(b * 5 * plane, 5 * plane).CopyTo(destination.Slice((b * 9 + 4) * plane));
        }
    }
}
