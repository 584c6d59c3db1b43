namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// A CLIP image tower's penultimate hidden states (transformers' <c>hidden_states[-2]</c>: every token, before the last
/// layer and the post-layernorm), [batch, tokens, width] row-major, which IP-Adapter Plus reads instead of the image
/// embedding, and the same states of all-zero pixel values [1, tokens, width]: the image prompt's unconditional side,
/// as the original IP-Adapter and diffusers make it. Immutable.
/// </summary>
public sealed class ClipVisionHiddenStates
{
    private readonly float[] _penultimate;
    private readonly float[] _unconditional;

    /// <summary>Wraps the states; the object takes ownership of the buffers.</summary>
    /// <param name="batch">The number of images.</param>
    /// <param name="tokens">The tokens per image (the class token and the patches: 257 for ViT-H/14 at 224).</param>
    /// <param name="width">The tower's width (1280 for ViT-H/14).</param>
    /// <param name="penultimate">[batch, tokens, width] values.</param>
    /// <param name="unconditional">[tokens, width] values: the states of zero pixel values.</param>
    public ClipVisionHiddenStates(int batch, int tokens, int width, float[] penultimate, float[] unconditional)
    {
        ArgumentNullException.ThrowIfNull(penultimate);
        ArgumentNullException.ThrowIfNull(unconditional);
        Values.TensorChecks.Positive(batch, nameof(batch));
        Values.TensorChecks.Positive(tokens, nameof(tokens));
        Values.TensorChecks.Positive(width, nameof(width));
        Values.TensorChecks.Length(penultimate.Length, (long)batch * tokens * width, "The penultimate hidden states");
        Values.TensorChecks.Length(unconditional.Length, (long)tokens * width, "The unconditional hidden states");
        Batch = batch;
        Tokens = tokens;
        Width = width;
        _penultimate = penultimate;
        _unconditional = unconditional;
    }

    /// <summary>The number of images.</summary>
    public int Batch { get; }

    /// <summary>The tokens per image.</summary>
    public int Tokens { get; }

    /// <summary>The tower's width.</summary>
    public int Width { get; }

    /// <summary>The images' states, [batch, tokens, width] row-major.</summary>
    public ReadOnlySpan<float> Penultimate => _penultimate;

    /// <summary>The states of zero pixel values, [tokens, width] row-major.</summary>
    public ReadOnlySpan<float> Unconditional => _unconditional;
}
