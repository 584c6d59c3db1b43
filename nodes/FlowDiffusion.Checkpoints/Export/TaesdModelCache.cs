using System.Globalization;
using FlowDiffusion.Checkpoints.Taesd;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// ONNX graphs built from TAESD's torch halves (<see cref="TaesdCheckpoint"/>), kept in <c>vae_approx</c> beside the
/// prepared checkpoints and keyed by the file, the half and the latent scaling factor baked into the graph, so each
/// file is converted on its first use only.
/// </summary>
public static class TaesdModelCache
{
    // Part of the cache key: bump when the graph changes.
    private const string GraphVersion = "taesd-1";

    /// <summary>The cache folder: <c>vae_approx</c> beside <see cref="CheckpointCache.DefaultRoot"/>.</summary>
    public static string DefaultRoot => PreparedGraphCache.RootOf("vae_approx");

    /// <summary>The prepared graph of <paramref name="part"/> in <paramref name="path"/> with <paramref name="scalingFactor"/>, converting it first when the cache has none.</summary>
    public static string Prepare(string path, TaesdPart part, float scalingFactor, string root, Action? converting = null, ConversionLimits? limits = null) =>
        PreparedGraphCache.Prepare(path, root, binding =>
        {
            using var checkpoint = TaesdCheckpoint.Open(path, part);
            return checkpoint.BuildGraph(scalingFactor, binding);
        }, converting, limits, $"{GraphVersion}|{part}|{scalingFactor.ToString("R", CultureInfo.InvariantCulture)}");
}
