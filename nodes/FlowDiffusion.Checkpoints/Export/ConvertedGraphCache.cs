using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// One ONNX graph converted from a <c>.safetensors</c> file (or a folder of them) and kept on disk, keyed by the source's
/// identity (full path, size, modification time) and the builder's version, so it is converted on first use only; the
/// folder (<c>model.onnx</c> with its weight file) appears whole or not at all. ControlNets and upscale models use it.
/// </summary>
internal static class ConvertedGraphCache
{
    /// <summary>
    /// The prepared graph file for <paramref name="path"/>, calling <paramref name="build"/> (the source's full path, the
    /// weight file the graph writes its tensors to) when the cache has none, within <paramref name="limits"/>.
    /// </summary>
    public static string Prepare(string path, string root, Func<string, ExternalWeightFile, OnnxModel> build, Action? converting, ConversionLimits? limits)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var folder = Path.Combine(root, $"{Path.GetFileNameWithoutExtension(full)}-{Key(full)}");
        var model = Path.Combine(folder, ControlNetCache.ModelFile);
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
                    graph = build(full, weights);
                }

                File.WriteAllBytes(Path.Combine(staging, ControlNetCache.ModelFile), graph.ToBytes());
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
