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
    private readonly int[]? _noiseIndices;

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

    /// <summary>
    /// Which item of a sampler's seeded noise each batch item takes (ComfyUI's <c>batch_index</c>), or null for item
    /// b taking item b. Latents cut from a batch keep the indices they had in it, so a sampler draws them the noise
    /// they had in the whole batch (ComfyUI's prepare_noise draws max + 1 items one at a time and keeps the ones named).
    /// Set at construction only; each index is 0 … <see cref="MaxNoiseIndex"/>, one per batch item.
    /// </summary>
    public IReadOnlyList<int>? NoiseIndices
    {
        get => _noiseIndices;
        init
        {
            if (value is null)
            {
                _noiseIndices = null;
                return;
            }

            if (value.Count != Batch)
                throw new ArgumentException($"A latent of batch {Batch} needs {Batch} noise indices, not {value.Count}.", nameof(value));
            foreach (var index in value)
            {
                if (index is < 0 or > MaxNoiseIndex)
                    throw new ArgumentOutOfRangeException(nameof(value), index, $"A noise index must be 0 … {MaxNoiseIndex}: a sampler draws noise for every item up to the largest.");
            }

            _noiseIndices = value.ToArray();
        }
    }

    /// <summary>The largest noise index: a sampler draws that many items of noise plus one, so the bound keeps the work bounded.</summary>
    public const int MaxNoiseIndex = 4095;

    /// <summary>[batch, channels, height, width] values.</summary>
    public ReadOnlySpan<float> Values => _values;

    /// <summary>Elements per batch item.</summary>
    public int ItemLength => Channels * Height * Width;

    /// <summary>A copy of the buffer.</summary>
    public float[] ToArray() => (float[])_values.Clone();
}
