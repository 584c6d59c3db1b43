namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// A loaded IP-Adapter (image prompt adapter): a projection of image embeddings into tokens and the decoupled
/// cross-attention keys and values a UNet attends beside the text. The pack that loads it also applies it (it adds the
/// image prompt to a conditioning, and its UNet reads it), so this handle only names the model.
/// </summary>
[PortType("IPADAPTER", "#ab47bc")]
public interface IIpAdapter
{
    /// <summary>A display name (the file's name).</summary>
    string Name { get; }
}
