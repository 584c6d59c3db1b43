using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.IpAdapter;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// ONNX graphs built from single-network <c>.safetensors</c> files or folders (a ControlNet, a CLIP image encoder, an IP-Adapter), kept
/// on disk in a folder per kind beside the prepared checkpoints and keyed by the source's identity (full path, size,
/// modification time of its files) and the builder's version, so a file is converted on its first load only. Weights
/// go to an external data file (ViT-H's image tower is past protobuf's 2 GB in float32). The folder appears whole or
/// not at all. ControlNets and upscale models use it too.
/// </summary>
public static class PreparedGraphCache
{
    /// <summary>The graph file in a prepared folder.</summary>
    public const string ModelFile = "model.onnx";

    /// <summary>The cache folder of <paramref name="kind"/> (<c>clip_vision</c>, <c>ipadapter</c>) beside <see cref="CheckpointCache.DefaultRoot"/>.</summary>
    public static string RootOf(string kind) => Path.Combine(Path.GetDirectoryName(CheckpointCache.DefaultRoot)!, kind);

    /// <summary>The prepared CLIP image encoder graph for <paramref name="path"/> (a file or a folder with <c>config.json</c>).</summary>
    public static string PrepareClipVision(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, binding =>
        {
            using var checkpoint = ClipVisionCheckpoint.Open(path);
            return checkpoint.BuildGraph(binding);
        }, converting, limits);

    /// <summary>The prepared IP-Adapter graph for <paramref name="path"/>.</summary>
    public static string PrepareIpAdapter(string path, string root, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(path, root, binding =>
        {
            using var checkpoint = IpAdapterCheckpoint.Open(path);
            return checkpoint.BuildGraph(binding);
        }, converting, limits);

    /// <summary>
    /// The prepared graph file for <paramref name="path"/>, building it with <paramref name="build"/> (given the external
    /// weight file to bind to) when the cache has none, within <paramref name="limits"/> (cancellation, time, free space).
    /// </summary>
    /// <param name="path">The source file or folder; its identity (path, size, time) keys the cache.</param>
    /// <param name="root">The cache folder.</param>
    /// <param name="build">Builds the graph, binding its weights to the external weight file it is given.</param>
    /// <param name="converting">Called when a conversion starts.</param>
    /// <param name="limits">Cancellation, time and free space.</param>
    /// <param name="identity">What else determines the graph (another model's weights, say), added to the key.</param>
    public static string Prepare(string path, string root, Func<WeightBinding, OnnxModel> build, Action? converting = null, ConversionLimits? limits = null, string? identity = null)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var folder = Path.Combine(root, $"{Path.GetFileNameWithoutExtension(full)}-{Key(full, identity)}");
        var model = Path.Combine(folder, ModelFile);
        if (File.Exists(model))
        {
            return model;
        }

        converting?.Invoke();
        Directory.CreateDirectory(root);
        var staging = folder + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            (limits ?? ConversionLimits.Default).Run(full, root, token =>
            {
                Directory.CreateDirectory(staging);
                OnnxModel graph;
                using (var weights = new ExternalWeightFile(Path.Combine(staging, DiffusersOnnxFolder.WeightsFile), cancellationToken: token))
                {
                    graph = build(weights);
                }

                File.WriteAllBytes(Path.Combine(staging, ModelFile), graph.ToBytes());
                Directory.Move(staging, folder);
            });
        }
        catch (IOException) when (File.Exists(model))
        {
            // Another process prepared the same file first.
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }

        return model;
    }

    private static string Key(string path, string? extra)
    {
        var identity = new StringBuilder().Append(CheckpointCache.BuilderVersion).Append('|');
        if (extra is not null)
        {
            identity.Append(extra).Append('|');
        }

        var files = Directory.Exists(path)
            ? new DirectoryInfo(path).EnumerateFiles().Where(f => f.Extension is ".safetensors" or ".json" || DiffusersWeightFiles.IsOne(f)).OrderBy(f => f.FullName, StringComparer.Ordinal)
            : (IEnumerable<FileInfo>)[new FileInfo(path)];
        foreach (var file in files)
        {
            identity.Append(file.FullName).Append('|').Append(file.Length).Append('|').Append(file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16];
    }
}
