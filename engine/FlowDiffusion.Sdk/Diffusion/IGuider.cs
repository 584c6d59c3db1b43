namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// Turns a denoiser and conditionings into the one prediction the scheduler steps with (classifier-free guidance,
/// or any other rule a plugin brings). Guiders are immutable values; per-run state lives in the arguments.
/// </summary>
[PortType("GUIDER", "#e57373")]
public interface IGuider
{
    /// <summary>The input channels of the underlying denoiser (4, or 9 for inpainting).</summary>
    int InChannels { get; }

    /// <summary>Predicts the noise (or v) for the batch at one step.</summary>
    /// <param name="input">The step's model input and state.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The guided prediction, [batch, 4, h, w].</returns>
    Task<float[]> PredictAsync(GuidanceInput input, CancellationToken cancellationToken);

    /// <summary>
    /// Predicts as <see cref="PredictAsync"/> does and also returns the unconditional prediction the guidance started from,
    /// for samplers that step with it (ComfyUI's CFG++ samplers). A classifier-free guider evaluates its unconditional half
    /// at scale 1 too here, as ComfyUI does for those samplers, so the same model call gives both. The default has no
    /// unconditional prediction; a sampler then steps with the guided one in its place.
    /// </summary>
    /// <param name="input">The step's model input and state.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The guided prediction and, where the guider has one, the unconditional prediction.</returns>
    async Task<GuidedPrediction> PredictWithUnconditionalAsync(GuidanceInput input, CancellationToken cancellationToken) =>
        new(await PredictAsync(input, cancellationToken), null);
}
