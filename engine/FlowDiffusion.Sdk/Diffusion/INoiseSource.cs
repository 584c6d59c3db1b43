namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// A stream of standard normal samples. The built-in implementation reproduces <c>torch.randn</c> on a CPU
/// generator, so ancestral schedulers that draw from it match diffusers for the same seed.
/// </summary>
public interface INoiseSource
{
    /// <summary>
    /// Fills <paramref name="destination"/> with standard normal samples, consuming the stream exactly as
    /// <c>torch.randn</c> of a tensor with <c>destination.Length</c> elements would.
    /// </summary>
    /// <param name="destination">The buffer to fill, in row-major order.</param>
    void FillStandardNormal(Span<float> destination);
}
