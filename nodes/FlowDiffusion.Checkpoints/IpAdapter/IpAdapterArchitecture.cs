namespace FlowDiffusion.Checkpoints.IpAdapter;

/// <summary>
/// An IP-Adapter's shape, read from its tensors: the image embedding it takes (<c>image_proj.proj</c>'s input: 1024 for
/// SD 1.5's ViT-H adapter), the tokens it makes of it and their width (the UNet's context width, <c>image_proj.norm</c>'s),
/// and the output width of each cross-attention layer's <c>to_k_ip</c>/<c>to_v_ip</c>, in the adapter's order.
/// </summary>
public sealed record IpAdapterArchitecture(int EmbeddingWidth, int Tokens, int ContextWidth, IReadOnlyList<int> LayerChannels);
