namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// One size of Depth Anything's DINOv2 encoder (ViT with 14-pixel patches, layer scale, no register tokens) and the DPT
/// head configured for it, as comfyui_controlnet_aux's and the upstream repositories' model configs give them.
/// </summary>
/// <param name="Name">vits, vitb, vitl or vitg.</param>
/// <param name="Width">The embedding width.</param>
/// <param name="Layers">The transformer blocks.</param>
/// <param name="Heads">The attention heads.</param>
/// <param name="Features">The DPT head's fusion width.</param>
/// <param name="OutChannels">The DPT head's four projection widths.</param>
/// <param name="SwiGlu">Whether the feed-forward is DINOv2's fused SwiGLU (vitg) rather than the GELU MLP.</param>
/// <param name="V2Layers">The blocks V2 reads (V1 reads the last four).</param>
public sealed record DepthAnythingEncoder(string Name, int Width, int Layers, int Heads, int Features, int[] OutChannels, bool SwiGlu, int[] V2Layers)
{
    /// <summary>The patch size.</summary>
    public const int Patch = 14;

    /// <summary>The sizes by width.</summary>
    public static readonly DepthAnythingEncoder[] All =
    [
        new("vits", 384, 12, 6, 64, [48, 96, 192, 384], false, [2, 5, 8, 11]),
        new("vitb", 768, 12, 12, 128, [96, 192, 384, 768], false, [2, 5, 8, 11]),
        new("vitl", 1024, 24, 16, 256, [256, 512, 1024, 1024], false, [4, 11, 17, 23]),
        new("vitg", 1536, 40, 24, 384, [1536, 1536, 1536, 1536], true, [9, 19, 29, 39]),
    ];

    /// <summary>The feed-forward's hidden width: 4 × width, or SwiGLU's ⌈(8/3 · width) / 8⌉ · 8 (DINOv2's SwiGLUFFNFused).</summary>
    public int Hidden => SwiGlu ? (4 * Width * 2 / 3 + 7) / 8 * 8 : 4 * Width;

    /// <summary>The blocks whose outputs the head reads: V1's last four (<c>get_intermediate_layers(x, 4)</c>) or V2's fixed indices.</summary>
    public int[] TakenLayers(DepthAnythingVersion version) => version == DepthAnythingVersion.V1 ? [Layers - 4, Layers - 3, Layers - 2, Layers - 1] : V2Layers;
}
