namespace FlowDiffusion.Checkpoints;

/// <summary>The model families a checkpoint can belong to, told apart by its tensor names.</summary>
public enum ModelFamily
{
    /// <summary>Stable Diffusion 1.x (and 2.x-shaped single-tower models): one CLIP text encoder, no added embedding.</summary>
    StableDiffusion1,

    /// <summary>Stable Diffusion XL: two text towers (CLIP ViT-L and OpenCLIP ViT-bigG) and a UNet with pooled-text and size conditioning.</summary>
    StableDiffusionXL,
}
