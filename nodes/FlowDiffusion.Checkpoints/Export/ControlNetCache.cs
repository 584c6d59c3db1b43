using FlowDiffusion.Checkpoints.ControlNet;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// ONNX graphs built from ControlNet <c>.safetensors</c> files (or diffusers folders), kept on disk beside the prepared
/// checkpoints and keyed by the source's identity (full path, size, modification time) and the builder's version, so a
/// ControlNet is converted on its first load only. The folder appears whole or not at all.
/// </summary>
public static class ControlNetCache
{
    /// <summary>The graph file in a prepared folder.</summary>
    public const string ModelFile = PreparedGraphCache.ModelFile;

    /// <summary>The cache folder: <c>controlnets</c> beside <see cref="CheckpointCache.DefaultRoot"/>.</summary>
    public static string DefaultRoot => Path.Combine(Path.GetDirectoryName(CheckpointCache.DefaultRoot)!, "controlnets");

    /// <summary>
    /// The prepared graph file for <paramref name="path"/>, converting it first when the cache has none, within
    /// <paramref name="limits"/> (cancellation, time, free space).
    /// </summary>
    public static string Prepare(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        PreparedGraphCache.Prepare(path, root, binding =>
        {
            using var controlnet = ControlNetCheckpoint.Open(Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar));
            return controlnet.BuildGraph(binding);
        }, converting, limits);

    /// <summary>
    /// The prepared ControlNet graph of the Control-LoRA <paramref name="path"/> over a UNet: its encoder weights
    /// (<paramref name="unetWeights"/>, read by <paramref name="readUNet"/>) with the file's weights and low-rank changes
    /// (<see cref="ControlLoraFile"/>), converting on first use. <paramref name="unetIdentity"/> names what determines those
    /// weights (the UNet's graph file and patches) and keys the cache with the file's identity.
    /// </summary>
    /// <remarks>
    /// The free space checked before converting is what it writes: the ControlNet's weights in float32 twice (the merged
    /// tensors, then the graph's weight file; the first is deleted after), the UNet's encoder weights and the file's others.
    /// </remarks>
    public static string PrepareControlLora(string path, string unetIdentity, IReadOnlyList<(string Name, long[] Shape)> unetWeights, Func<string, float[]> readUNet,
        string root, Action? converting = null, ConversionLimits? limits = null)
    {
        var encoder = unetWeights.Where(w => ControlLoraFile.IsEncoderWeight(w.Name)).Sum(w => w.Shape.Aggregate(1L, (a, b) => checked(a * b)));
        limits = (limits ?? ConversionLimits.Default) with { BytesNeeded = checked((2 * 4 * encoder) + (2 * ConversionLimits.BytesWritten(path))) };
        return PreparedGraphCache.Prepare(path, root, binding =>
        {
            var merged = Path.Combine(root, $".control-lora-{Guid.NewGuid():N}.safetensors");
            try
            {
                using (var lora = ControlLoraFile.Open(Path.GetFullPath(path)))
                {
                    lora.WriteControlNet(merged, unetWeights, readUNet, limits.CancellationToken);
                }

                using var controlnet = ControlNetCheckpoint.Open(merged);
                return controlnet.BuildGraph(binding);
            }
            finally
            {
                File.Delete(merged);
            }
        }, converting, limits, "control-lora|" + unetIdentity);
    }
}
