namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// A noise predictor: one batched model evaluation per call (a UNet, or a wrapper that consumes extras such as a
/// control image and delegates to the denoiser it wraps).
/// </summary>
/// <remarks>A wrapper forwards <see cref="InChannels"/> and <see cref="OutChannels"/> of the denoiser it wraps.</remarks>
[PortType("DENOISER", "#9575cd")]
public interface IDenoiser
{
    /// <summary>Input channels the model expects: 4, or 9 for an inpainting UNet.</summary>
    int InChannels { get; }

    /// <summary>Channels of the prediction per batch item (4 for SD's latent space).</summary>
    int OutChannels => 4;

    /// <summary>
    /// The width of the guidance-scale embedding the model takes in place of classifier-free guidance (an LCM-distilled
    /// UNet's <c>timestep_cond</c>, its time_cond_proj_dim), or null when it takes none. A guider gives such a model its
    /// scale as <see cref="StandardExtras.TimestepCond"/> and evaluates the positive conditioning alone.
    /// </summary>
    int? GuidanceEmbeddingWidth => null;

    /// <summary>Predicts the model output (epsilon or v) for every batch item.</summary>
    /// <param name="input">The model input, timestep, conditioning and extras.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The prediction, [batch, <see cref="OutChannels"/>, h, w].</returns>
    Task<float[]> PredictAsync(DenoiserInput input, CancellationToken cancellationToken);

    /// <summary>
    /// Predicts into a caller's buffer, so a guider that reuses one allocates nothing large per step. The default
    /// calls <see cref="PredictAsync(DenoiserInput, CancellationToken)"/> and copies; a model that can write in
    /// place overrides it.
    /// </summary>
    /// <param name="input">The model input, timestep, conditioning and extras.</param>
    /// <param name="prediction">Receives [batch, <see cref="OutChannels"/>, h, w].</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    async Task PredictAsync(DenoiserInput input, Memory<float> prediction, CancellationToken cancellationToken)
    {
        var result = await PredictAsync(input, cancellationToken).ConfigureAwait(false);
        if (result.Length != prediction.Length)
            throw new ArgumentException($"the denoiser predicted {result.Length} values where {prediction.Length} were expected ({input.Shape.Batch} × {OutChannels} × {input.Shape.Height} × {input.Shape.Width})");
        result.CopyTo(prediction);
    }
}
