namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// A batch of latents, float32 [batch, channels, height, width], already multiplied by the VAE's scaling factor.
/// Immutable. Latents drawn from seeded noise carry their per-image seeds so that a sampler can continue each
/// image's random stream (ancestral schedulers) exactly as diffusers does with one generator per image.
/// </summary>
[PortType("LATENT", "#ff9cf9")]
public sealed class Latent
{
    private readonly float[] _values;

    /// <summary>Wraps a latent buffer; the latent takes ownership.</summary>
    /// <param name="batch">Number of latents.</param>
    /// <param name="channels">Channels (4 for SD 1.x).</param>
    /// <param name="height">Height in latent pixels (image height / 8).</param>
    /// <param name="width">Width in latent pixels.</param>
    /// <param name="values">[batch, channels, height, width] values.</param>
    /// <param name="seeds">The seed each batch item's noise was drawn with, or null for latents that are not noise.</param>
    public Latent(int batch, int channels, int height, int width, float[] values, IReadOnlyList<ulong>? seeds = null)
    {
        TensorChecks.Positive(batch, nameof(batch));
        TensorChecks.Positive(channels, nameof(channels));
        TensorChecks.Positive(height, nameof(height));
        TensorChecks.Positive(width, nameof(width));
        TensorChecks.Length(values.Length, (long)batch * channels * height * width, "The latent");
        if (seeds is not null && seeds.Count != batch)
            throw new ArgumentException($"A latent of batch {batch} needs {batch} seeds, not {seeds.Count}.", nameof(seeds));
        Batch = batch;
        Channels = channels;
        Height = height;
        Width = width;
        Seeds = seeds;
        _values = values;
    }

    /// <summary>Number of latents.</summary>
    public int Batch { get; }

    /// <summary>Channels per latent.</summary>
    public int Channels { get; }

    /// <summary>Height in latent pixels.</summary>
    public int Height { get; }

    /// <summary>Width in latent pixels.</summary>
    public int Width { get; }

    /// <summary>Per-image seeds of seeded noise, or null.</summary>
    public IReadOnlyList<ulong>? Seeds { get; }

    /// <summary>[batch, channels, height, width] values.</summary>
    public ReadOnlySpan<float> Values => _values;

    /// <summary>Elements per batch item.</summary>
    public int ItemLength => Channels * Height * Width;

    /// <summary>A copy of the buffer.</summary>
    public float[] ToArray() => (float[])_values.Clone();
}
