using FlowDiffusion.Checkpoints.T2IAdapter;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>ONNX graphs built from T2I-Adapter <c>.safetensors</c> files (or diffusers folders), cached as <see cref="PreparedGraphCache"/> keeps them.</summary>
public static class T2IAdapterCache
{
    /// <summary>The cache folder: <c>t2i_adapters</c> beside <see cref="CheckpointCache.DefaultRoot"/>.</summary>
    public static string DefaultRoot => PreparedGraphCache.RootOf("t2i_adapters");

    /// <summary>
    /// The prepared graph file for <paramref name="path"/>, converting it first when the cache has none, within
    /// <paramref name="limits"/> (cancellation, time, free space).
    /// </summary>
    public static string Prepare(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        PreparedGraphCache.Prepare(path, root, binding =>
        {
            using var adapter = T2IAdapterCheckpoint.Open(Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar));
            return adapter.BuildGraph(binding);
        }, converting, limits);
}
