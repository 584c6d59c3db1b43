namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>The networks an SD 1.x checkpoint holds.</summary>
public enum ModelPart
{
    /// <summary>The denoising UNet.</summary>
    UNet,

    /// <summary>The CLIP text tower.</summary>
    TextEncoder,

    /// <summary>The VAE (encoder and decoder).</summary>
    Vae,

    /// <summary>SDXL's second text tower (OpenCLIP ViT-bigG, with the pooled projection), under transformers CLIP names.</summary>
    TextEncoder2,
}
