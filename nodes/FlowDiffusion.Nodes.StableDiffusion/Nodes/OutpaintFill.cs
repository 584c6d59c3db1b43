namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>What image.pad_for_outpaint puts in the new border before it is repainted.</summary>
public enum OutpaintFill
{
    /// <summary>The nearest pixel of the image, stretched outwards: colours the repaint starts from continue the picture.</summary>
    Edge,

    /// <summary>Seeded uniform noise in [0, 1].</summary>
    Noise,

    /// <summary>Flat grey (0.5), as ComfyUI's Pad Image for Outpainting.</summary>
    Grey,
}
