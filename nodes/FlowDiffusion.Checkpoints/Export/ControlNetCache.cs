using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FlowDiffusion.Checkpoints.ControlNet;
using FlowDiffusion.Checkpoints.Graphs;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// ONNX graphs built from ControlNet <c>.safetensors</c> files (or diffusers folders), kept on disk beside the prepared
/// checkpoints and keyed by the source's identity (full path, size, modification time) and the builder's version, so a
/// ControlNet is converted on its first load only. The folder appears whole or not at all.
/// </summary>
public static class ControlNetCache
{
    /// <summary>The graph file in a prepared folder.</summary>
    public const string ModelFile = "model.onnx";

    /// <summary>The cache folder: <c>controlnets</c> beside <see cref="CheckpointCache.DefaultRoot"/>.</summary>
    public static string DefaultRoot => Path.Combine(Path.GetDirectoryName(CheckpointCache.DefaultRoot)!, "controlnets");

    /// <summary>
    /// The prepared graph file for <paramref name="path"/>, converting it first when the cache has none, within
    /// <paramref name="limits"/> (cancellation, time, free space).
    /// </summary>
    public static string Prepare(string path, string root, Action? converting = null, ConversionLimits? limits = null)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var folder = Path.Combine(root, $"{Path.GetFileNameWithoutExtension(full)}-{Key(full)}");
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
                using var controlnet = ControlNetCheckpoint.Open(full);
                Directory.CreateDirectory(staging);
                Onnx.Proto.OnnxModel graph;
                using (var weights = new ExternalWeightFile(Path.Combine(staging, DiffusersOnnxFolder.WeightsFile), cancellationToken: token))
                {
                    graph = controlnet.BuildGraph(weights);
                }

                File.WriteAllBytes(Path.Combine(staging, ModelFile), graph.ToBytes());
                Directory.Move(staging, folder);
            });
        }
        catch (IOException) when (File.Exists(model))
        {
            // Another process prepared the same ControlNet first.
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

    private static string Key(string path)
    {
        var identity = new StringBuilder().Append(CheckpointCache.BuilderVersion).Append('|');
        var files = Directory.Exists(path)
            ? new DirectoryInfo(path).EnumerateFiles("*.safetensors").OrderBy(f => f.FullName, StringComparer.Ordinal)
            : (IEnumerable<FileInfo>)[new FileInfo(path)];
        foreach (var file in files)
        {
            identity.Append(file.FullName).Append('|').Append(file.Length).Append('|').Append(file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16];
    }
}
