namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>A loaded UNet model: the raw noise predictor a denoiser node wraps.</summary>
[PortType("UNET", "#7986cb")]
public interface IUNetModel : IDenoiser
{
    /// <summary>A display name (the model folder's name).</summary>
    string Name { get; }
}
