using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.Architecture;

/// <summary>An SD VAE's shape, read from its tensors: image channels, each level's width, residual blocks per level, latent channels.</summary>
public sealed record VaeArchitecture(int ImageChannels, IReadOnlyList<int> LevelChannels, int ResBlocksPerLevel, int LatentChannels)
{
    /// <summary>The spatial factor between image and latent: 2 per downsampling level.</summary>
    public int Factor => 1 << (LevelChannels.Count - 1);

    /// <summary>Reads the shape from canonical (diffusers) tensor names.</summary>
    public static VaeArchitecture Detect(IReadOnlyDictionary<string, StoredTensor> tensors, string source)
    {
        long[] Shape(string name) => tensors.TryGetValue(name, out var t) ? t.Shape : throw new CheckpointException($"{source}: VAE tensor '{name}' is missing.");
        var levels = Shapes.CountIndices(tensors.Keys, "encoder.down_blocks.");
        var resBlocks = Shapes.CountIndices(tensors.Keys, "encoder.down_blocks.0.resnets.");
        if (levels == 0 || resBlocks == 0)
        {
            throw new CheckpointException($"{source}: the VAE has no encoder down blocks; it is not an SD VAE.");
        }

        var widths = Enumerable.Range(0, levels).Select(l => (int)Shape($"encoder.down_blocks.{l}.resnets.0.conv1.weight")[0]).ToArray();
        return new VaeArchitecture((int)Shape("encoder.conv_in.weight")[1], widths, resBlocks, (int)Shape("post_quant_conv.weight")[0]);
    }
}
