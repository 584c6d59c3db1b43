namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>The network a LoRA module changes.</summary>
public enum LoraNetwork
{
    /// <summary>The UNet (kohya <c>lora_unet_*</c>, diffusers <c>unet.*</c>).</summary>
    UNet,

    /// <summary>The CLIP text encoder (kohya <c>lora_te_*</c>, diffusers <c>text_encoder.*</c>).</summary>
    TextEncoder,
}
