using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>Prepared standalone CLIP text towers, beside the prepared checkpoints and keyed the same way.</summary>
public static partial class CheckpointCache
{
    /// <summary>
    /// The prepared folder (<c>text_encoder/</c>, <c>tokenizer/</c>) for the SD 1.x CLIP text tower in
    /// <paramref name="clip"/> (transformers' names), converting it first when the cache has none, within
    /// <paramref name="limits"/>. A changed file or tokenizer is converted again.
    /// </summary>
    public static string PrepareClip(string clip, string tokenizerFolder, string root, Action? converting = null, ConversionLimits? limits = null) =>
        PrepareClip([clip], tokenizerFolder, root, converting, limits);

    /// <summary>
    /// The prepared folder for the CLIP text towers in <paramref name="clips"/>, converting them first when the cache has
    /// none, within <paramref name="limits"/>: one file is SD 1.x's CLIP ViT-L or SD 2.x's OpenCLIP ViT-H
    /// (<see cref="CheckpointWeights.IsViTHClip"/>; <c>text_encoder/</c>, the tokenizer padding with id 0), or, when it is an
    /// OpenCLIP ViT-bigG tower (<see cref="CheckpointWeights.IsBigGClip"/>), the SDXL refiner's CLIP (<c>text_encoder_2/</c>),
    /// as ComfyUI's CLIPLoader reads them; two files are SDXL's pair in either order (<c>text_encoder/</c> and
    /// <c>text_encoder_2/</c>, ComfyUI's DualCLIPLoader), sharing one folder whatever their order. Each with <c>tokenizer/</c>.
    /// A changed file or tokenizer is converted again.
    /// </summary>
    public static string PrepareClip(IReadOnlyList<string> clips, string tokenizerFolder, string root, Action? converting = null, ConversionLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(clips);
        if (clips.Count is < 1 or > 2)
        {
            throw new ArgumentException($"a CLIP is one text-tower file or SDXL's two, not {clips.Count}.", nameof(clips));
        }

        // Ordered by path, so the two files given either way round share a folder.
        var full = clips.Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToList();
        // "clip2": OpenCLIP ViT-H towers are SD 2.x's since (CheckpointWeights.IsViTHClip); one converted as SD 1.x before is converted again.
        var identity = new StringBuilder("clip2|").Append(BuilderVersion).Append('|');
        foreach (var file in full.SelectMany(Identity).Concat(Identity(Path.GetFullPath(tokenizerFolder))))
        {
            identity.Append(file.FullName).Append('|').Append(file.Length).Append('|').Append(file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16];
        var name = string.Join("+", full.Select(Path.GetFileNameWithoutExtension));
        var folder = Path.Combine(root, $"clip-{name}-{key}");
        if (IsPreparedClip(folder))
        {
            return folder;
        }

        converting?.Invoke();
        Directory.CreateDirectory(root);
        try
        {
            (limits ?? ConversionLimits.Default).Run(full.MaxBy(f => new FileInfo(f).Length)!, root, token =>
            {
                var staging = folder + ".partial-" + Guid.NewGuid().ToString("N")[..8];
                try
                {
                    Directory.CreateDirectory(Path.Combine(staging, "tokenizer"));
                    foreach (var file in DiffusersOnnxFolder.TokenizerFiles.Where(f => File.Exists(Path.Combine(tokenizerFolder, f))))
                    {
                        File.Copy(Path.Combine(tokenizerFolder, file), Path.Combine(staging, "tokenizer", file));
                    }

                    // After the copy: SD 2.x's tower replaces the tokenizer's special tokens with its padding.
                    WriteClip(full, staging, token);

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
        catch (IOException) when (IsPreparedClip(folder))
        {
            // Another process prepared the same files first.
        }

        return folder;
    }

    // The folder is renamed into place whole, so either tower's graph marks it finished.
    private static bool IsPreparedClip(string folder) =>
        File.Exists(Path.Combine(folder, "text_encoder", "model.onnx")) || File.Exists(Path.Combine(folder, "text_encoder_2", "model.onnx"));

    private static void WriteClip(IReadOnlyList<string> clips, string staging, CancellationToken cancellationToken)
    {
        if (clips.Count == 1 && !CheckpointWeights.IsBigGClip(clips[0]))
        {
            using var model = Sd1Checkpoint.OpenClip(clips[0]);
            var architecture = model.TextEncoder!;
            var sd2 = model.Family == ModelFamily.StableDiffusion2;
            DiffusersOnnxFolder.WriteModel(staging, "text_encoder", model.BuildTextEncoder, w => DiffusersOnnxFolder.TextEncoderConfig(w, architecture, sd2 ? "gelu" : "quick_gelu"),
                cancellationToken: cancellationToken);
            if (sd2)
            {
                DiffusersOnnxFolder.WriteSd2TokenizerSpecials(staging);
            }

            return;
        }

        using var sdxl = SdxlCheckpoint.OpenClip(clips[0], clips.Count == 2 ? clips[1] : null);
        SdxlOnnxFolder.WriteTextEncoders(sdxl, staging, optimumLayout: false, cancellationToken);
    }
}
