namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// What a CLIP image encoder made of a batch of images (ComfyUI's CLIP_VISION_OUTPUT): the projected image embeddings,
/// [batch, width] row-major (1024 wide for ViT-H/14), and the penultimate hidden states when the encoder gives them
/// (<see cref="HiddenStates"/>). Immutable.
/// </summary>
[PortType("CLIP_VISION_OUTPUT", "#bcaaa4")]
public sealed class ClipVisionOutput
{
    private readonly float[] _embeds;

    /// <summary>Wraps the embeddings; the output takes ownership of the buffer.</summary>
    /// <param name="batch">The number of images.</param>
    /// <param name="width">The embedding width.</param>
    /// <param name="embeds">[batch, width] values.</param>
    public ClipVisionOutput(int batch, int width, float[] embeds)
        : this(batch, width, embeds, null)
    {
    }

    /// <summary>Wraps the embeddings and the penultimate hidden states; the output takes ownership of the buffers.</summary>
    /// <param name="batch">The number of images.</param>
    /// <param name="width">The embedding width.</param>
    /// <param name="embeds">[batch, width] values.</param>
    /// <param name="hiddenStates">The same images' penultimate hidden states, or null when the encoder does not give them.</param>
    public ClipVisionOutput(int batch, int width, float[] embeds, ClipVisionHiddenStates? hiddenStates)
    {
        ArgumentNullException.ThrowIfNull(embeds);
        Values.TensorChecks.Positive(batch, nameof(batch));
        Values.TensorChecks.Positive(width, nameof(width));
        Values.TensorChecks.Length(embeds.Length, (long)batch * width, "The image embeddings");
        Batch = batch;
        Width = width;
        _embeds = embeds;
        if (hiddenStates is not null && hiddenStates.Batch != batch)
        {
            throw new ArgumentException($"The hidden states hold {hiddenStates.Batch} images, the embeddings {batch}.", nameof(hiddenStates));
        }

        HiddenStates = hiddenStates;
    }

    /// <summary>The number of images.</summary>
    public int Batch { get; }

    /// <summary>The embedding width.</summary>
    public int Width { get; }

    /// <summary>The penultimate hidden states (IP-Adapter Plus's input), or null when the encoder does not give them.</summary>
    public ClipVisionHiddenStates? HiddenStates { get; }

    /// <summary>The embeddings, [batch, width] row-major.</summary>
    public ReadOnlySpan<float> ImageEmbeds => _embeds;

    /// <summary>A copy of the embeddings.</summary>
    public float[] ToArray() => (float[])_embeds.Clone();
}
