using FlowDiffusion.Checkpoints.Upscale;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// ONNX graphs built from ESRGAN-family <c>.safetensors</c> upscalers (<see cref="RrdbNetCheckpoint"/>), kept on disk
/// beside the prepared checkpoints so each file is converted on its first load only.
/// </summary>
public static class UpscaleModelCache
{
    /// <summary>The cache folder: <c>upscale_models</c> beside <see cref="CheckpointCache.DefaultRoot"/>.</summary>
    public static string DefaultRoot => Path.Combine(Path.GetDirectoryName(CheckpointCache.DefaultRoot)!, "upscale_models");

    /// <summary>The prepared graph file for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string Prepare(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        PreparedGraphCache.Prepare(path, root, binding =>
        {
            using var network = RrdbNetCheckpoint.Open(Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar));
            return network.BuildGraph(binding);
        }, converting, limits);
}
