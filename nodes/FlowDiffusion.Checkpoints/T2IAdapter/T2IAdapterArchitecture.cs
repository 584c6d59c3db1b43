using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.T2IAdapter;

/// <summary>
/// A full T2I-Adapter's shape, read from its tensors (TencentARC's names, <see cref="T2IAdapterKeyMap"/>): the control
/// image's channels (3, or 1 for sketch-like adapters), the pixel-unshuffle factor (8 for SD 1.x, 16 for SDXL), each
/// level's width (one feature per level: SD 1.x's 320/640/1280/1280), residual blocks per level, and which levels open with
/// a 2×2 average pool (SD 1.x: every level after the first; SDXL: the third only).
/// </summary>
public sealed record T2IAdapterArchitecture(int InputChannels, int Unshuffle, IReadOnlyList<int> Channels, int ResBlocksPerLevel, IReadOnlyList<bool> Downsamples)
{
    /// <summary>Residual blocks per level in TencentARC's full adapters (their flat <c>body.k</c> names do not show it).</summary>
    public const int OriginalResBlocks = 2;

    /// <summary>Whether it is an SDXL adapter (diffusers' <c>full_adapter_xl</c>: unshuffled by 16, one downsampling level).</summary>
    public bool IsSdxl => Unshuffle == 16;

    /// <summary>
    /// Reads the shape from canonical tensor names; <paramref name="adapterType"/> is diffusers' <c>adapter_type</c> when a
    /// <c>config.json</c> says it (<c>full_adapter</c>, <c>full_adapter_xl</c>), else the unshuffle factor decides (16: SDXL).
    /// </summary>
    public static T2IAdapterArchitecture Detect(IReadOnlyDictionary<string, StoredTensor> tensors, int resBlocks, string source, string? adapterType = null)
    {
        long[] Shape(string name) => tensors.TryGetValue(name, out var t) ? t.Shape : throw new CheckpointException($"{source}: T2I-Adapter tensor '{name}' is missing.");
        if (tensors.Keys.Any(k => k.Contains(".skep.", StringComparison.Ordinal) || k.Contains(".down_opt.", StringComparison.Ordinal)))
        {
            throw new CheckpointException($"{source}: this T2I-Adapter has skip convolutions (skep) or convolutional downsampling (down_opt), the first TencentARC variants; only the full adapters diffusers and ComfyUI load (average-pool downsampling, identity skips) are supported.");
        }

        var convIn = Shape("conv_in.weight");
        var (inputChannels, unshuffle) = Unshuffled((int)convIn[1])
            ?? throw new CheckpointException($"{source}: conv_in takes {convIn[1]} channels, which is no control image of 1 or 3 channels pixel-unshuffled by a power of 2.");
        var blocks = Shapes.CountIndices(tensors.Keys, "body.");
        if (blocks == 0 || resBlocks < 1 || blocks % resBlocks != 0)
        {
            throw new CheckpointException($"{source}: the T2I-Adapter has {blocks} residual blocks, not a whole number of levels of {resBlocks}.");
        }

        var channels = new List<int>();
        for (var level = 0; level < blocks / resBlocks; level++)
        {
            var width = (int)Shape($"body.{level * resBlocks}.block1.weight")[0];
            var previous = level == 0 ? (int)convIn[0] : channels[^1];
            if (width != previous && !tensors.ContainsKey($"body.{level * resBlocks}.in_conv.weight"))
            {
                throw new CheckpointException($"{source}: level {level} of the T2I-Adapter widens {previous} to {width} channels without an in_conv.");
            }

            channels.Add(width);
        }

        var xl = adapterType switch
        {
            null => unshuffle == 16,
            "full_adapter" => false,
            "full_adapter_xl" => true,
            _ => throw new CheckpointException($"{source}: T2I-Adapter type '{adapterType}' is not supported (full_adapter and full_adapter_xl are)."),
        };
        var downsamples = Enumerable.Range(0, channels.Count).Select(l => xl ? l == 2 : l > 0).ToArray();
        return new T2IAdapterArchitecture(inputChannels, unshuffle, channels, resBlocks, downsamples);
    }

    private static (int Channels, int Factor)? Unshuffled(int width)
    {
        foreach (var channels in new[] { 3, 1 })
        {
            if (width % channels != 0)
            {
                continue;
            }

            var squared = width / channels;
            var factor = (int)Math.Round(Math.Sqrt(squared));
            if (factor >= 2 && factor * factor == squared && (factor & (factor - 1)) == 0)
            {
                return (channels, factor);
            }
        }

        return null;
    }
}
