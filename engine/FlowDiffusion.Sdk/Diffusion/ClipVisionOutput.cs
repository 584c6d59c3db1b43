namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// What a CLIP image encoder made of a batch of images (ComfyUI's CLIP_VISION_OUTPUT): the projected image embeddings,
/// [batch, width] row-major (1024 wide for ViT-H/14). Immutable.
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
    {
        ArgumentNullException.ThrowIfNull(embeds);
        Values.TensorChecks.Positive(batch, nameof(batch));
        Values.TensorChecks.Positive(width, nameof(width));
        Values.TensorChecks.Length(embeds.Length, (long)batch * width, "The image embeddings");
        Batch = batch;
        Width = width;
        _embeds = embeds;
    }

    /// <summary>The number of images.</summary>
    public int Batch { get; }

    /// <summary>The embedding width.</summary>
    public int Width { get; }

    /// <summary>The embeddings, [batch, width] row-major.</summary>
    public ReadOnlySpan<float> ImageEmbeds => _embeds;

    /// <summary>A copy of the embeddings.</summary>
    public float[] ToArray() => (float[])_embeds.Clone();
}
