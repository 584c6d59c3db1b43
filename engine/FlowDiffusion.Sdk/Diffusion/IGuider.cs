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
}
