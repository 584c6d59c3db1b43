namespace FlowDiffusion.ModelGenerator;

/// <summary>What a VAE encoder export returns.</summary>
public enum VaeEncoderOutput
{
    /// <summary><c>latent_sample</c> [batch, 4, h, w].</summary>
    LatentSample,

    /// <summary><c>latent_parameters</c> [batch, 8, h, w]: mean then log-variance.</summary>
    LatentParameters,
}
