using System.Security.Cryptography;
using System.Text;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>Prepared standalone VAEs, beside the prepared checkpoints and keyed the same way.</summary>
public static partial class CheckpointCache
{
    /// <summary>
    /// Whether <paramref name="path"/> is a VAE to prepare: a weight file (<see cref="WeightFiles"/>), or a diffusers VAE folder
    /// (<c>diffusion_pytorch_model.safetensors</c> or <c>.bin</c>, directly or under <c>vae/</c>) without ONNX halves.
    /// </summary>
    public static bool IsVaeCheckpoint(string path) =>
        (File.Exists(path) && WeightFiles.IsWeightFile(path))
        || (Directory.Exists(path) && !File.Exists(Path.Combine(path, "vae_decoder", "model.onnx"))
            && new[] { path, Path.Combine(path, "vae") }.Any(f => DiffusersWeightFiles.Find(f, DiffusersWeightFiles.Model) is not null));

    /// <summary>
    /// The prepared folder (<c>vae_encoder/</c>, <c>vae_decoder/</c>) for the standalone VAE <paramref name="vae"/>,
    /// converting it first when the cache has none, within <paramref name="limits"/> (cancellation, time, free space).
    /// </summary>
    public static string PrepareVae(string vae, string root, Action? converting = null, ConversionLimits? limits = null)
    {
        var full = Path.GetFullPath(vae);
        var identity = new StringBuilder("vae|").Append(BuilderVersion).Append('|');
        foreach (var file in Identity(full))
        {
            identity.Append(file.FullName).Append('|').Append(file.Length).Append('|').Append(file.LastWriteTimeUtc.Ticks).Append('\n');
        }

        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16];
        var folder = Path.Combine(root, $"vae-{Path.GetFileNameWithoutExtension(full.TrimEnd(Path.DirectorySeparatorChar))}-{key}");
        if (File.Exists(Path.Combine(folder, "vae_decoder", "model.onnx")))
        {
            return folder;
        }

        converting?.Invoke();
        Directory.CreateDirectory(root);
        try
        {
            (limits ?? ConversionLimits.Default).Run(full, root, token =>
            {
                using var model = Sd1Checkpoint.OpenVae(full);
                VaeOnnxFolder.Write(model, folder, token);
            });
        }
        catch (IOException) when (File.Exists(Path.Combine(folder, "vae_decoder", "model.onnx")))
        {
            // Another process prepared the same VAE first.
        }

        return folder;
    }
}
