namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// A loaded CLIP image encoder (ComfyUI's CLIP_VISION): turns images into image embeddings for image prompting. The pack
/// that loads it also encodes with it (<see cref="ClipVisionOutput"/>), so this handle only names the model.
/// </summary>
[PortType("CLIP_VISION", "#a1887f")]
public interface IClipVision
{
    /// <summary>A display name (the file's name).</summary>
    string Name { get; }
}
