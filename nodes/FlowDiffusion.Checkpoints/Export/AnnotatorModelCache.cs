using FlowDiffusion.Checkpoints.Annotators;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// ONNX graphs built from the ControlNet annotators' torch weights (<c>ControlNetHED.pth</c>: <see cref="HedCheckpoint"/>;
/// Depth Anything's <c>.pth</c>: <see cref="DepthAnythingCheckpoint"/>),
/// kept in <c>annotators</c> beside the prepared checkpoints so each file is converted on its first use only.
/// </summary>
public static class AnnotatorModelCache
{
    // Part of the cache key: bump when the graph changes.
    private const string HedGraphVersion = "hed-1";
    private const string DepthAnythingGraphVersion = "depth-anything-1";

    /// <summary>The cache folder: <c>annotators</c> beside <see cref="CheckpointCache.DefaultRoot"/>.</summary>
    public static string DefaultRoot => PreparedGraphCache.RootOf("annotators");

    /// <summary>The prepared HED graph for <paramref name="path"/>, converting it first when the cache has none.</summary>
    public static string PrepareHed(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        PreparedGraphCache.Prepare(path, root, binding =>
        {
            using var checkpoint = HedCheckpoint.Open(path);
            return checkpoint.BuildGraph(binding);
        }, converting, limits, HedGraphVersion);

    /// <summary>The prepared Depth Anything graph for <paramref name="path"/> read as <paramref name="version"/>, converting it first when the cache has none.</summary>
    public static string PrepareDepthAnything(string path, DepthAnythingVersion version, string root, Action? converting = null, ConversionLimits? limits = null) =>
        PreparedGraphCache.Prepare(path, root, binding =>
        {
            using var checkpoint = DepthAnythingCheckpoint.Open(path);
            return checkpoint.BuildGraph(version, binding);
        }, converting, limits, $"{DepthAnythingGraphVersion}-{version}");
}
