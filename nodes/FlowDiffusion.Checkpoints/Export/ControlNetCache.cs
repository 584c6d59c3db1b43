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
}
