namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// What one ComfyUI output socket carries, as the FlowDiffusion ports that stand for it (<c>node.port</c> sources):
/// ComfyUI's MODEL is our UNet plus the scheduler configuration, its CLIP our text encoder plus tokenizer, and so on.
/// </summary>
internal abstract record ComfyValue(string ComfyType);

internal sealed record ModelValue(string Unet, string SchedulerConfig) : ComfyValue("MODEL");

/// <summary>The text encoder and tokenizer, with the CLIP skip a CLIPSetLastLayer upstream chose (1 = the last layer).</summary>
internal sealed record ClipValue(string Clip, string Tokenizer, int ClipSkip = 1) : ComfyValue("CLIP");

internal sealed record VaeValue(string Vae) : ComfyValue("VAE");

internal sealed record ConditioningValue(string Conditioning) : ComfyValue("CONDITIONING");

/// <summary>Latents with an optional noise mask (SetLatentNoiseMask, VAEEncodeForInpaint).</summary>
internal sealed record LatentValue(string Latent, string? Mask) : ComfyValue("LATENT");

internal sealed record ImageValue(string Image) : ComfyValue("IMAGE");

internal sealed record MaskValue(string Mask) : ComfyValue("MASK");

internal sealed record UpscaleModelValue(string Model) : ComfyValue("UPSCALE_MODEL");

internal sealed record ControlNetValue(string ControlNet) : ComfyValue("CONTROL_NET");
