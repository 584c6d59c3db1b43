using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// Keys for the extra model inputs that several packs share, named after the UNet arguments of diffusers, so that a
/// pack producing one (an SDXL text encoder, an IP-Adapter image encoder) and a pack consuming it (an SDXL or adapter
/// denoiser) agree without knowing each other. The SD 1.x denoiser reads none of them. A pack's private kind declares
/// its own key instead, named <c>pack.kind</c>.
/// </summary>
public static class StandardExtras
{
    /// <summary>Pooled text embeddings, [batch, dim] (SDXL's <c>text_embeds</c>, 1280 wide).</summary>
    public static readonly ExtraKey<ExtraTensor> PooledText = ExtraKey.Tensor("text_embeds");

    /// <summary>Size and crop conditioning (SDXL's <c>time_ids</c>): [batch, 6] original size, crop top-left, target size for the base; [batch, 5] original size, crop top-left, aesthetic score for the refiner.</summary>
    public static readonly ExtraKey<ExtraTensor> TimeIds = ExtraKey.Tensor("time_ids");

    /// <summary>Guidance-scale embedding, [batch, n] (LCM's <c>timestep_cond</c>).</summary>
    public static readonly ExtraKey<ExtraTensor> TimestepCond = ExtraKey.Tensor("timestep_cond");

    /// <summary>Image prompt embeddings, [batch, tokens, dim] (IP-Adapter's <c>image_embeds</c>; zeros on the negative).</summary>
    public static readonly ExtraKey<ExtraTensor> ImageEmbeds = ExtraKey.Tensor("image_embeds");

    /// <summary>
    /// Latent-resolution channels appended to the sample's before the model runs, [batch, c, h, w] (depth maps,
    /// instruct-pix2pix image latents, inpainting mask and masked-image latents).
    /// </summary>
    public static readonly ExtraKey<ExtraTensor> ConcatLatents = ExtraKey.Tensor("concat_latents");

    /// <summary>Where a conditioning applies, [batch, 1, h, w] in 0..1 at latent resolution (regional prompting).</summary>
    public static readonly ExtraKey<ExtraTensor> RegionMask = ExtraKey.Tensor("region_mask");
}
