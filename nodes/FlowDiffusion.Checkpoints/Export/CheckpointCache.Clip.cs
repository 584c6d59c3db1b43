using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>Prepared standalone CLIP text towers, beside the prepared checkpoints and keyed the same way.</summary>
public static partial class CheckpointCache
{
    /// <summary>
    /// The prepared folder (<c>text_encoder/</c>, <c>tokenizer/</c>) for the SD 1.x CLIP text tower in
    /// <paramref name="clip"/> (transformers' names), converting it first when the cache has none, within
    /// <paramref name="limits"/>. A changed file or tokenizer is converted again.
    /// </summary>
    public static string PrepareClip(string clip, string tokenizerFolder, string root, Action? converting = null, ConversionLimits? limits = null)
    {
        var full = Path.GetFullPath(clip);
        var identity = new StringBuilder("clip|").Append(BuilderVersion).Append('|');
        foreach (var file in Identity(full).Concat(Identity(Path.GetFullPath(tokenizerFolder))))
        {
            identity.Append(file.FullName).Append('|').Append(file.Length).Append('|').Append(file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16];
        var folder = Path.Combine(root, $"clip-{Path.GetFileNameWithoutExtension(full)}-{key}");
        if (File.Exists(Path.Combine(folder, "text_encoder", "model.onnx")))
        {
            return folder;
        }

        converting?.Invoke();
        Directory.CreateDirectory(root);
        try
        {
            (limits ?? ConversionLimits.Default).Run(full, root, token =>
            {
                using var model = Sd1Checkpoint.OpenClip(full);
                var staging = folder + ".partial-" + Guid.NewGuid().ToString("N")[..8];
                try
                {
                    Directory.CreateDirectory(Path.Combine(staging, "tokenizer"));
                    foreach (var name in DiffusersOnnxFolder.TokenizerFiles.Where(f => File.Exists(Path.Combine(tokenizerFolder, f))))
                    {
                        File.Copy(Path.Combine(tokenizerFolder, name), Path.Combine(staging, "tokenizer", name));
                    }

                    var architecture = model.TextEncoder!;
                    DiffusersOnnxFolder.WriteModel(staging, "text_encoder", model.BuildTextEncoder, w => DiffusersOnnxFolder.TextEncoderConfig(w, architecture), cancellationToken: token);
                    Directory.Move(staging, folder);
                }
                catch
                {
                    if (Directory.Exists(staging))
                    {
                        Directory.Delete(staging, recursive: true);
                    }

                    throw;
                }
            });
        }
        catch (IOException) when (File.Exists(Path.Combine(folder, "text_encoder", "model.onnx")))
        {
            // Another process prepared the same file first.
        }

        return folder;
    }
}
