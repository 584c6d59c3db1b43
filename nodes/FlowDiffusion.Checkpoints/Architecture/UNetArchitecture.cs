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

    /// <summary>The time embedding's width: four times the model channels.</summary>
    public int TimeWidth => ModelChannels * 4;

    /// <summary>Reads the shape from canonical (diffusers) tensor names.</summary>
    public static UNetArchitecture Detect(IReadOnlyDictionary<string, StoredTensor> tensors, string source, int heads = ConventionalHeads)
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
        var context = (int)Shape("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight")[1];
        foreach (var width in widths)
        {
            if (width % heads != 0 || width % 32 != 0)
            {
                throw new CheckpointException($"{source}: UNet width {width} does not split into {heads} heads and 32 norm groups.");
            }
        }

        return new UNetArchitecture((int)convIn[1], (int)Shape("conv_out.weight")[0], (int)convIn[0], widths, resBlocks, attention, context, heads);
    }
}
