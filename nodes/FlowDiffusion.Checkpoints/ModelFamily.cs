namespace FlowDiffusion.Checkpoints;

/// <summary>The model families a checkpoint can belong to, told apart by its tensor names.</summary>
public enum ModelFamily
{
    /// <summary>Stable Diffusion 1.x: one CLIP ViT-L text encoder, 1×1-convolution transformer projections, no added embedding.</summary>
    StableDiffusion1,

    /// <summary>Stable Diffusion XL: two text towers (CLIP ViT-L and OpenCLIP ViT-bigG) and a UNet with pooled-text and size conditioning.</summary>
    StableDiffusionXL,

    /// <summary>
    /// Stable Diffusion 2.x: one OpenCLIP ViT-H text tower, SD 1.x's UNet levels with linear transformer projections and
    /// 64-wide heads, no added embedding; built by <see cref="Sd1Checkpoint"/> (the pipeline is SD 1.x's).
    /// </summary>
    StableDiffusion2,
}
