using FlowDiffusion.Checkpoints.Upscale;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// ONNX graphs built from ESRGAN-family upscalers' weights — RRDBNet (<see cref="RrdbNetCheckpoint"/>) or Real-ESRGAN's
/// compact generator (<see cref="CompactNetCheckpoint"/>), told apart by their keys — kept on disk beside the prepared
/// checkpoints so each file is converted on its first load only.
/// </summary>
public static class UpscaleModelCache
{
    /// <summary>The cache folder: <c>upscale_models</c> beside <see cref="CheckpointCache.DefaultRoot"/>.</summary>
    public static string DefaultRoot => Path.Combine(Path.GetDirectoryName(CheckpointCache.DefaultRoot)!, "upscale_models");

    /// <summary>The prepared graph file for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string Prepare(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        PreparedGraphCache.Prepare(path, root, binding =>
        {
            var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
            bool compact;
            using (var file = SafetensorsFile.Open(full))
            {
                compact = CompactNetCheckpoint.IsCompactNet(file.Tensors.Keys);
            }

            if (compact)
            {
                using var network = CompactNetCheckpoint.Open(full);
                return network.BuildGraph(binding);
            }

            using var rrdb = RrdbNetCheckpoint.Open(full);
            return rrdb.BuildGraph(binding);
        }, converting, limits);
}
