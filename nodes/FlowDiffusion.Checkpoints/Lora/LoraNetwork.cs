namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>The network a LoRA module changes.</summary>
public enum LoraNetwork
{
    /// <summary>The UNet (kohya <c>lora_unet_*</c>, diffusers <c>unet.*</c>).</summary>
    UNet,

    /// <summary>The CLIP text encoder (kohya <c>lora_te_*</c>, SDXL's <c>lora_te1_*</c>; diffusers <c>text_encoder.*</c>).</summary>
    TextEncoder,

    /// <summary>SDXL's second text encoder, OpenCLIP ViT-bigG (kohya <c>lora_te2_*</c>, diffusers <c>text_encoder_2.*</c>).</summary>
    TextEncoder2,
}
