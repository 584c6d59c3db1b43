namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// A noise predictor: one batched model evaluation per call (a UNet, or a UNet with adapters).
/// </summary>
[PortType("DENOISER", "#9575cd")]
public interface IDenoiser
{
    /// <summary>Input channels the model expects: 4, or 9 for an inpainting UNet.</summary>
    int InChannels { get; }

    /// <summary>Predicts the model output (epsilon or v) for every batch item.</summary>
    /// <param name="input">The model input, timestep and conditioning.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The prediction, [batch, 4, h, w].</returns>
    Task<float[]> PredictAsync(DenoiserInput input, CancellationToken cancellationToken);
}
