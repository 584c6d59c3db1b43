namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>How the sampler brings an image-size inpainting mask down to latent size (one value per 8×8 block).</summary>
public enum MaskResizeMethod
{
    /// <summary>As diffusers' inpainting pipeline: binarised at 0.5, then nearest-neighbour (each block's top-left pixel).</summary>
    Nearest,

    /// <summary>The block's average: a soft edge where the mask crosses a block (ComfyUI's resized noise masks).</summary>
    Area,
}
