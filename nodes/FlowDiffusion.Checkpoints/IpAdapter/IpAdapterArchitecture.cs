namespace FlowDiffusion.Checkpoints.IpAdapter;

/// <summary>
/// An IP-Adapter's shape, read from its tensors: the image input it takes (the base adapter: <c>image_proj.proj</c>'s input,
/// the image embedding, 1024 for SD 1.5's ViT-H adapter; Plus: <c>image_proj.proj_in</c>'s input, the width of the tower's
/// penultimate hidden states, 1280 for ViT-H), the tokens it makes of it and their width (the UNet's context width), the
/// output width of each cross-attention layer's <c>to_k_ip</c>/<c>to_v_ip</c>, in the adapter's order, and, for Plus,
/// its <see cref="ResamplerArchitecture"/>.
/// </summary>
public sealed record IpAdapterArchitecture(int EmbeddingWidth, int Tokens, int ContextWidth, IReadOnlyList<int> LayerChannels, ResamplerArchitecture? Resampler = null)
{
    /// <summary>Whether the adapter reads the tower's penultimate hidden states (Plus) rather than its image embedding.</summary>
    public bool TakesHiddenStates => Resampler is not null;
}
