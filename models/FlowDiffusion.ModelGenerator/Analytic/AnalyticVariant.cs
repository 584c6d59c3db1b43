namespace FlowDiffusion.ModelGenerator.Analytic;

/// <summary>
/// Which export flavour of the analytic model to write. The shipped <c>analytic-sd</c> is <see cref="Default"/>;
/// tests write the others into temporary folders to check input binding by name and declared dtype.
/// </summary>
/// <param name="Timestep">The declared type and rank of the UNet's <c>timestep</c>.</param>
/// <param name="Float16UNet">The UNet's <c>sample</c>, <c>encoder_hidden_states</c> and <c>out_sample</c> are float16.</param>
/// <param name="EncoderOutput">What the VAE encoder returns.</param>
/// <param name="Inpainting">A 9-channel inpainting UNet (latents ‖ mask ‖ masked-image latents).</param>
public sealed record AnalyticVariant(
    TimestepInput Timestep = TimestepInput.Float32Vector,
    bool Float16UNet = false,
    VaeEncoderOutput EncoderOutput = VaeEncoderOutput.LatentSample,
    bool Inpainting = false)
{
    /// <summary>The shipped <c>models/analytic-sd</c>.</summary>
    public static AnalyticVariant Default { get; } = new();

    /// <summary>The shipped <c>models/analytic-sd-inpaint</c>.</summary>
    public static AnalyticVariant Inpaint { get; } = new(Inpainting: true);

    /// <summary>An fp16 export: float16 UNet I/O and float16 <c>timestep</c> [batch].</summary>
    public static AnalyticVariant Float16 { get; } = new(Timestep: TimestepInput.Float16Vector, Float16UNet: true);
}
