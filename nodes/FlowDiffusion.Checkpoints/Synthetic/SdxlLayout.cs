using FlowDiffusion.Checkpoints.Architecture;

namespace FlowDiffusion.Checkpoints.Synthetic;

/// <summary>
/// The tensors of an SDXL base checkpoint in diffusers' folder layout (names and shapes) for given widths: the UNet
/// (<c>UNet2DConditionModel</c> with SDXL's per-level transformer depths, linear projections and
/// <c>add_embedding</c>), CLIP ViT-L (<c>text_encoder</c>), OpenCLIP ViT-bigG with its projection
/// (<c>text_encoder_2</c>, <c>CLIPTextModelWithProjection</c>) and the VAE (SD's). <see cref="Sdxl"/> is SDXL 1.0's.
/// </summary>
/// <param name="UNetChannels">Each UNet level's width (SDXL: 320, 640, 1280).</param>
/// <param name="TransformerDepths">Transformer blocks per attention at each level (SDXL: 0, 2, 10; 0 = no attention).</param>
/// <param name="MiddleTransformerDepth">Transformer blocks in the middle block's attention (SDXL: 10), when <see cref="Middle"/> has one.</param>
/// <param name="ResBlocksPerLevel">Residual blocks per down level (the up levels have one more).</param>
/// <param name="TextWidth">The first text tower's width (CLIP ViT-L: 768).</param>
/// <param name="TextLayers">The first text tower's layers (12).</param>
/// <param name="Text2Width">The second text tower's width (OpenCLIP ViT-bigG: 1280).</param>
/// <param name="Text2Layers">The second text tower's layers (32).</param>
/// <param name="ProjectionWidth">The second tower's pooled projection, the UNet's <c>text_embeds</c> (1280).</param>
/// <param name="Vocabulary">Both towers' token embedding rows.</param>
/// <param name="VaeChannels">Each VAE level's width (SDXL: 128, 256, 512, 512, as SD 1.x).</param>
public sealed record SdxlLayout(
    IReadOnlyList<int> UNetChannels,
    IReadOnlyList<int> TransformerDepths,
    int MiddleTransformerDepth,
    int ResBlocksPerLevel,
    int TextWidth,
    int TextLayers,
    int Text2Width,
    int Text2Layers,
    int ProjectionWidth,
    int Vocabulary,
    IReadOnlyList<int> VaeChannels)
{
    /// <summary>The numbers in the base UNet's <c>time_ids</c> (original size, crop, target size), each embedded 256 wide.</summary>
    public const int TimeIds = 6;

    /// <summary>The sinusoidal width of each <c>time_ids</c> number.</summary>
    public const int TimeIdWidth = 256;

    /// <summary>
    /// SDXL 1.0 base: 2,567,463,684 UNet, 123,060,480 CLIP ViT-L, 694,659,840 OpenCLIP ViT-bigG (with projection) and
    /// 83,653,863 VAE parameters.
    /// </summary>
    public static SdxlLayout Sdxl { get; } = new([320, 640, 1280], [0, 2, 10], 10, 2, 768, 12, 1280, 32, 1280, 49408, [128, 256, 512, 512]);

    /// <summary>
    /// A few-MB model of the same structure (two UNet levels, attention with two transformer blocks at the second,
    /// two 2-layer text towers whose 1,000 ids cover the shipped tiny tokenizers, a four-level VAE that scales by 8):
    /// for tests of the generator and the benchmark.
    /// </summary>
    public static SdxlLayout Tiny { get; } = new([32, 64], [0, 2], 2, 1, 32, 2, 32, 2, 40, 1000, [32, 32, 32, 32]);

    /// <summary>
    /// Transformer blocks of each encoder attention, [level][residual block], where they differ from
    /// <see cref="TransformerDepths"/>; null: every attention of a level has the level's depth.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>>? EncoderDepths { get; init; }

    /// <summary>
    /// Transformer blocks of each decoder attention, [up block][residual block] (up block 0 is the deepest level), where they
    /// are not the encoder's per-level depths mirrored (SSD-1B's); null: the level's depth.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>>? DecoderDepths { get; init; }

    /// <summary>What the middle block holds (SSD-1B and Segmind Vega: a lone residual block).</summary>
    public UNetMiddle Middle { get; init; } = UNetMiddle.Attention;

    /// <summary>The width of <c>conv_in</c>'s output, whose four times is the time embedding's width (SDXL: 320, the first level's).</summary>
    public int ModelChannels { get; init; } = UNetChannels.Count > 0 ? UNetChannels[0] : 0;

    /// <summary>The UNet's cross-attention context width: both towers' hidden states side by side.</summary>
    public int ContextWidth => TextWidth + Text2Width;

    /// <summary>The UNet's tensors.</summary>
    public IEnumerable<(string Name, long[] Shape)> UNet()
    {
        var c0 = ModelChannels;
        var time = 4 * c0;
        foreach (var t in Sd1Layout.Conv("conv_in", c0, Sd1Layout.LatentChannels, 3)) yield return t;
        foreach (var t in Sd1Layout.Linear("time_embedding.linear_1", time, c0)) yield return t;
        foreach (var t in Sd1Layout.Linear("time_embedding.linear_2", time, time)) yield return t;
        foreach (var t in Sd1Layout.Linear("add_embedding.linear_1", time, ProjectionWidth + (TimeIds * TimeIdWidth))) yield return t;
        foreach (var t in Sd1Layout.Linear("add_embedding.linear_2", time, time)) yield return t;
        var skips = new Stack<int>();
        skips.Push(c0);
        var channels = c0;
        var levels = UNetChannels.Count;
        for (var level = 0; level < levels; level++)
        {
            var c = UNetChannels[level];
            for (var j = 0; j < ResBlocksPerLevel; j++)
            {
                foreach (var t in Sd1Layout.ResBlock($"down_blocks.{level}.resnets.{j}", channels, c, time)) yield return t;
                channels = c;
                foreach (var t in Transformer($"down_blocks.{level}.attentions.{j}", c, EncoderDepths?[level][j] ?? TransformerDepths[level])) yield return t;
                skips.Push(c);
            }

            if (level != levels - 1)
            {
                foreach (var t in Sd1Layout.Conv($"down_blocks.{level}.downsamplers.0.conv", c, c, 3)) yield return t;
                skips.Push(c);
            }
        }

        if (Middle != UNetMiddle.None)
        {
            foreach (var t in Sd1Layout.ResBlock("mid_block.resnets.0", channels, channels, time)) yield return t;
        }

        if (Middle == UNetMiddle.Attention)
        {
            foreach (var t in Transformer("mid_block.attentions.0", channels, MiddleTransformerDepth)) yield return t;
            foreach (var t in Sd1Layout.ResBlock("mid_block.resnets.1", channels, channels, time)) yield return t;
        }

        for (var up = 0; up < levels; up++)
        {
            var level = levels - 1 - up;
            var c = UNetChannels[level];
            for (var j = 0; j <= ResBlocksPerLevel; j++)
            {
                foreach (var t in Sd1Layout.ResBlock($"up_blocks.{up}.resnets.{j}", channels + skips.Pop(), c, time)) yield return t;
                channels = c;
                foreach (var t in Transformer($"up_blocks.{up}.attentions.{j}", c, DecoderDepths?[up][j] ?? TransformerDepths[level])) yield return t;
            }

            if (up != levels - 1)
            {
                foreach (var t in Sd1Layout.Conv($"up_blocks.{up}.upsamplers.0.conv", c, c, 3)) yield return t;
            }
        }

        foreach (var t in Sd1Layout.Norm("conv_norm_out", channels)) yield return t;
        foreach (var t in Sd1Layout.Conv("conv_out", Sd1Layout.LatentChannels, channels, 3)) yield return t;
    }

    /// <summary>The first text tower's tensors (<c>text_model.*</c>, CLIP ViT-L's names).</summary>
    public IEnumerable<(string Name, long[] Shape)> TextEncoder() => Tower(TextWidth, TextLayers).TextEncoder();

    /// <summary>The second text tower's tensors: <c>text_model.*</c> and <c>text_projection.weight</c> (no bias).</summary>
    public IEnumerable<(string Name, long[] Shape)> TextEncoder2() =>
        Tower(Text2Width, Text2Layers).TextEncoder().Append(("text_projection.weight", [ProjectionWidth, Text2Width]));

    /// <summary>The VAE's tensors (SD's VAE: encoder, <c>quant_conv</c>, <c>post_quant_conv</c>, decoder).</summary>
    public IEnumerable<(string Name, long[] Shape)> Vae() => Tower(0, 0).Vae();

    /// <summary>The VAE decoder's tensors with <c>post_quant_conv</c>.</summary>
    public IEnumerable<(string Name, long[] Shape)> VaeDecoder() => Tower(0, 0).VaeDecoder();

    // The text towers and the VAE are SD 1.x's modules; only their widths differ.
    private Sd1Layout Tower(int width, int layers) => new([], [], width, layers, Vocabulary, VaeChannels);

    // SDXL's spatial transformer: linear proj_in/proj_out around `depth` blocks (self- and cross-attention without q/k/v
    // biases, GEGLU feed-forward); nothing at a level of depth 0.
    private IEnumerable<(string, long[])> Transformer(string name, int c, int depth)
    {
        if (depth == 0)
        {
            yield break;
        }

        foreach (var t in Sd1Layout.Norm(name + ".norm", c)) yield return t;
        foreach (var t in Sd1Layout.Linear(name + ".proj_in", c, c)) yield return t;
        for (var d = 0; d < depth; d++)
        {
            var block = $"{name}.transformer_blocks.{d}.";
            foreach (var (attention, keyWidth) in new[] { ("attn1", c), ("attn2", ContextWidth) })
            {
                yield return ($"{block}{attention}.to_q.weight", [c, c]);
                yield return ($"{block}{attention}.to_k.weight", [c, keyWidth]);
                yield return ($"{block}{attention}.to_v.weight", [c, keyWidth]);
                foreach (var t in Sd1Layout.Linear($"{block}{attention}.to_out.0", c, c)) yield return t;
            }

            foreach (var norm in new[] { "norm1", "norm2", "norm3" })
            {
                foreach (var t in Sd1Layout.Norm(block + norm, c)) yield return t;
            }

            foreach (var t in Sd1Layout.Linear(block + "ff.net.0.proj", 8 * c, c)) yield return t;
            foreach (var t in Sd1Layout.Linear(block + "ff.net.2", c, 4 * c)) yield return t;
        }

        foreach (var t in Sd1Layout.Linear(name + ".proj_out", c, c)) yield return t;
    }
}
