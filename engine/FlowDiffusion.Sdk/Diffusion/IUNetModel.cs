namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>A loaded UNet model: the raw noise predictor a denoiser node wraps.</summary>
[PortType("UNET", "#7986cb")]
public interface IUNetModel : IDenoiser
{
    /// <summary>A display name (the model folder's name).</summary>
    string Name { get; }

    /// <summary>
    /// The image side in pixels the model was trained at (diffusers' UNet <c>sample_size</c> × the VAE's 8×: 512 for
    /// SD 1.x), which latent nodes use when their width or height is 0; null when the model does not say.
    /// </summary>
    int? NativeImageSize => null;
}
