using FlowDiffusion.Checkpoints.Upscale;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// ONNX graphs built from upscalers' weights — ESRGAN's RRDBNet (<see cref="RrdbNetCheckpoint"/>), Real-ESRGAN's compact
/// generator (<see cref="CompactNetCheckpoint"/>) or SPAN (<see cref="SpanCheckpoint"/>), told apart by their keys — kept
/// on disk beside the prepared checkpoints so each file is converted on its first load only.
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
            string[] keys;
            using (var file = SafetensorsFile.Open(full))
            {
                keys = [.. file.Tensors.Keys];
            }

            if (CompactNetCheckpoint.IsCompactNet(keys))
            {
                using var network = CompactNetCheckpoint.Open(full);
                return network.BuildGraph(binding);
            }

            if (SpanCheckpoint.IsSpan(keys))
            {
                using var span = SpanCheckpoint.Open(full);
                return span.BuildGraph(binding);
            }

            if (!RrdbNetCheckpoint.IsRrdbNet(keys))
            {
                throw new CheckpointException($"{full}: not an upscaler whose weights are converted here — ESRGAN (RRDBNet), Real-ESRGAN compact (SRVGGNetCompact) "
                    + "or SPAN, told by their keys; other architectures (SwinIR, HAT, DAT, SPANPlus …) need an ONNX export.");
            }

            using var rrdb = RrdbNetCheckpoint.Open(full);
            return rrdb.BuildGraph(binding);
        }, converting, limits);
}
