using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.Architecture;

/// <summary>
/// An SD 1.x UNet's shape, read from its tensors: input channels (4, or 9 for inpainting), each level's width, residual
/// blocks per level, which levels have attention, the context width. The head count no tensor shows follows SD 1.x (8).
/// </summary>
public sealed record UNetArchitecture(
    int InChannels,
    int OutChannels,
    int ModelChannels,
    IReadOnlyList<int> LevelChannels,
    int ResBlocksPerLevel,
    IReadOnlyList<bool> AttentionLevels,
    int ContextWidth,
    int Heads)
{
    /// <summary>SD 1.x's attention heads in every transformer.</summary>
    public const int ConventionalHeads = 8;

    /// <summary>SDXL's head width (num_head_channels 64): a transformer of width w has w / 64 heads.</summary>
    public const int ConventionalSdxlHeadWidth = 64;

    /// <summary>SD 2.x's head width (num_head_channels 64): 5, 10 and 20 heads at widths 320, 640 and 1280.</summary>
    public const int ConventionalSd2HeadWidth = 64;

    /// <summary>The width of each size number's sinusoidal embedding in SDXL's <c>time_ids</c> conditioning.</summary>
    public const int TimeIdWidth = 256;

    /// <summary>The number of size numbers in the base's <c>time_ids</c>: original height and width, crop top and left, target height and width.</summary>
    public const int TimeIdCount = 6;

    /// <summary>The refiner's <c>time_ids</c>: original height and width, crop top and left, and the aesthetic score.</summary>
    public const int RefinerTimeIdCount = 5;

    /// <summary>
    /// How many numbers this UNet's <c>time_ids</c> holds: <see cref="TimeIdCount"/> (base) or <see cref="RefinerTimeIdCount"/>
    /// (refiner). The added embedding's width alone cannot tell them apart at full size (2816 = 1280 + 6·256 for the base,
    /// 2560 = 1280 + 5·256 for the refiner, but 2560 would also be 1024 + 6·256), so the checkpoint sets it from the
    /// pooled projection's width.
    /// </summary>
    public int TimeIds { get; init; } = TimeIdCount;

    /// <summary>
    /// Transformer blocks per attention at each level (SD 1.x: 1 where there is attention; SDXL: 0, 2, 10), read from each
    /// level's first encoder attention. Every attention of a level has this depth unless <see cref="EncoderDepths"/> or
    /// <see cref="DecoderDepths"/> says otherwise (<see cref="DownDepth"/>, <see cref="UpDepth"/>).
    /// </summary>
    public IReadOnlyList<int> TransformerDepths { get; init; } = AttentionLevels.Select(a => a ? 1 : 0).ToArray();

    /// <summary>
    /// The transformer blocks of each encoder attention, [level][residual block] (0: no attention after that block), where
    /// they are not <see cref="TransformerDepths"/> at every attention of a level; null otherwise.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>>? EncoderDepths { get; init; }

    /// <summary>
    /// The transformer blocks of each decoder attention, [up block][residual block] (up block 0 is the deepest level; 0: no
    /// attention), where they are not the level's <see cref="TransformerDepths"/> mirrored (SSD-1B's decoder, diffusers'
    /// <c>reverse_transformer_layers_per_block</c>); null otherwise.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>>? DecoderDepths { get; init; }

    /// <summary>What the middle block holds (SD's residual, attention, residual unless a distilled SDXL's says otherwise).</summary>
    public UNetMiddle Middle { get; init; } = UNetMiddle.Attention;

    /// <summary>Transformer blocks in the middle block's attention (when <see cref="Middle"/> is <see cref="UNetMiddle.Attention"/>).</summary>
    public int MiddleTransformerDepth { get; init; } = 1;

    /// <summary>The transformer blocks after residual block <paramref name="block"/> of encoder level <paramref name="level"/> (0: no attention there).</summary>
    public int DownDepth(int level, int block) => EncoderDepths is { } d ? d[level][block] : LevelDepth(level);

    /// <summary>The transformer blocks after residual block <paramref name="block"/> of decoder block <paramref name="up"/> (up 0: the deepest level; 0: no attention there).</summary>
    public int UpDepth(int up, int block) => DecoderDepths is { } d ? d[up][block] : LevelDepth(LevelChannels.Count - 1 - up);

    private int LevelDepth(int level) => AttentionLevels[level] ? Math.Max(1, TransformerDepths[level]) : 0;

    /// <summary>When set, each transformer has width / HeadWidth heads (SDXL) instead of <see cref="Heads"/>.</summary>
    public int? HeadWidth { get; init; }

    /// <summary>
    /// The input width of SDXL's added embedding (<c>label_emb</c> / <c>add_embedding</c>): the pooled text embedding
    /// followed by the six Fourier-embedded size numbers; 0 for a UNet without one (SD 1.x).
    /// </summary>
    public int AddedEmbeddingWidth { get; init; }

    /// <summary>The pooled text embedding's width an SDXL UNet takes as <c>text_embeds</c> (0 without an added embedding).</summary>
    public int PooledWidth => AddedEmbeddingWidth == 0 ? 0 : AddedEmbeddingWidth - (TimeIds * TimeIdWidth);

    /// <summary>
    /// The width of an LCM-distilled UNet's guidance-scale embedding (<c>time_embedding.cond_proj</c>, diffusers'
    /// time_cond_proj_dim), which the graph takes as <c>timestep_cond</c>; 0 for a UNet without one.
    /// </summary>
    public int TimeCondWidth { get; init; }

    /// <summary>The heads of a transformer of <paramref name="width"/> channels.</summary>
    public int HeadsAt(int width) => HeadWidth is { } w ? Math.Max(1, width / w) : Heads;

    /// <summary>The time embedding's width: four times the model channels.</summary>
    public int TimeWidth => ModelChannels * 4;

    /// <summary>
    /// Reads the shape from canonical (diffusers) tensor names. A UNet with an added embedding (SDXL) takes heads
    /// <paramref name="headWidth"/> wide (SDXL's 64 unless given); others take <paramref name="heads"/> heads, or heads
    /// <paramref name="headWidth"/> wide when it is given (SD 2.x).
    /// </summary>
    public static UNetArchitecture Detect(IReadOnlyDictionary<string, StoredTensor> tensors, string source, int heads = ConventionalHeads, int? headWidth = null)
    {
        var arch = DetectLayers(tensors, source, heads, headWidth);
        return tensors.TryGetValue("time_embedding.cond_proj.weight", out var condProj)
            ? arch with { TimeCondWidth = condProj.Shape.Length == 2 && condProj.Shape[0] == arch.ModelChannels ? (int)condProj.Shape[1] : throw new CheckpointException($"{source}: the UNet's time_embedding.cond_proj.weight is [{string.Join(", ", condProj.Shape)}]; expected [{arch.ModelChannels}, width].") }
            : arch;
    }

    /// <summary>
    /// Whether the UNet's transformers project in and out with linear layers (2-D <c>proj_in</c> weights: SD 2.x's
    /// use_linear_in_transformer, and SDXL's) rather than SD 1.x's 1×1 convolutions.
    /// </summary>
    public static bool HasLinearProjections(IReadOnlyDictionary<string, StoredTensor> tensors) =>
        tensors.FirstOrDefault(p => p.Key.EndsWith(".proj_in.weight", StringComparison.Ordinal)).Value is { Shape.Length: 2 };

    private static UNetArchitecture DetectLayers(IReadOnlyDictionary<string, StoredTensor> tensors, string source, int heads, int? headWidth)
    {
        long[] Shape(string name) => tensors.TryGetValue(name, out var t) ? t.Shape : throw new CheckpointException($"{source}: UNet tensor '{name}' is missing.");
        var convIn = Shape("conv_in.weight");
        var levels = Shapes.CountIndices(tensors.Keys, "down_blocks.");
        var resBlocks = Shapes.CountIndices(tensors.Keys, "down_blocks.0.resnets.");
        if (levels == 0 || resBlocks == 0)
        {
            throw new CheckpointException($"{source}: the UNet has no down blocks; it is not an SD 1.x UNet.");
        }

        var widths = Enumerable.Range(0, levels).Select(l => (int)Shape($"down_blocks.{l}.resnets.0.conv1.weight")[0]).ToArray();
        var attention = Enumerable.Range(0, levels).Select(l => tensors.ContainsKey($"down_blocks.{l}.attentions.0.norm.weight")).ToArray();
        var context = (int)Shape(ContextKey(tensors, source))[1];
        var depths = Enumerable.Range(0, levels).Select(l => Shapes.CountIndices(tensors.Keys, $"down_blocks.{l}.attentions.0.transformer_blocks.")).ToArray();
        for (var l = 0; l < levels; l++)
        {
            // One residual-block count for every level, one more in the decoder (ComfyUI's num_res_blocks may vary per level; none of the SD family's does).
            var (down, up) = (Shapes.CountIndices(tensors.Keys, $"down_blocks.{l}.resnets."), Shapes.CountIndices(tensors.Keys, $"up_blocks.{levels - 1 - l}.resnets."));
            if (down != resBlocks || up != resBlocks + 1)
            {
                throw new CheckpointException($"{source}: the UNet's level {l} has {down} encoder and {up} decoder residual blocks; FlowDiffusion builds UNets with the same count at every level ({resBlocks}, and {resBlocks + 1} in the decoder).");
            }
        }
        if (tensors.TryGetValue("add_embedding.linear_1.weight", out var added))
        {
            var width = (int)added.Shape[1];
            if (width <= RefinerTimeIdCount * TimeIdWidth)
            {
                throw new CheckpointException($"{source}: the UNet's added embedding takes {width} features, too few for a pooled text embedding and {RefinerTimeIdCount} or {TimeIdCount} size numbers of {TimeIdWidth}.");
            }

            var headWide = headWidth ?? ConventionalSdxlHeadWidth;
            foreach (var w in widths)
            {
                if (w % 32 != 0 || (w >= headWide && w % headWide != 0))
                {
                    throw new CheckpointException($"{source}: UNet width {w} does not split into {headWide}-wide heads and 32 norm groups.");
                }
            }

            return UNetBlockDepths.Read(tensors, new UNetArchitecture((int)convIn[1], (int)Shape("conv_out.weight")[0], (int)convIn[0], widths, resBlocks, attention, context, heads)
            {
                TransformerDepths = depths,
                HeadWidth = headWide,
                AddedEmbeddingWidth = width,
            });
        }

        if (headWidth is { } wide)
        {
            // SD 2.x: num_head_channels instead of a head count.
            foreach (var w in widths)
            {
                if (w % 32 != 0 || (w >= wide && w % wide != 0))
                {
                    throw new CheckpointException($"{source}: UNet width {w} does not split into {wide}-wide heads and 32 norm groups.");
                }
            }

            return UNetBlockDepths.Read(tensors, new UNetArchitecture((int)convIn[1], (int)Shape("conv_out.weight")[0], (int)convIn[0], widths, resBlocks, attention, context, heads) { HeadWidth = wide });
        }

        foreach (var width in widths)
        {
            if (width % heads != 0 || width % 32 != 0)
            {
                throw new CheckpointException($"{source}: UNet width {width} does not split into {heads} heads and 32 norm groups.");
            }
        }

        return UNetBlockDepths.Read(tensors, new UNetArchitecture((int)convIn[1], (int)Shape("conv_out.weight")[0], (int)convIn[0], widths, resBlocks, attention, context, heads));
    }

    /// <summary>The first cross-attention key, whose second dimension is the context width: the middle block's where it has one (SSD-1B's has none).</summary>
    internal static string ContextKey(IReadOnlyDictionary<string, StoredTensor> tensors, string source)
    {
        const string Middle = "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight";
        return tensors.ContainsKey(Middle) ? Middle
            : tensors.Keys.Where(k => k.EndsWith(".transformer_blocks.0.attn2.to_k.weight", StringComparison.Ordinal)).Order(StringComparer.Ordinal).FirstOrDefault()
              ?? throw new CheckpointException($"{source}: the UNet has no cross-attention (no *.attn2.to_k.weight); it is not a text-conditioned SD UNet.");
    }
}
