using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// Prepared diffusers-ONNX folders for checkpoints, kept on disk and keyed by the checkpoint's identity (full path,
/// size, modification time), the tokenizer's, and this builder's version, so a checkpoint is converted on its first
/// load only and a changed file is converted again.
/// </summary>
public static partial class CheckpointCache
{
    /// <summary>Bumped whenever the built graphs change, so old prepared folders are not reused.</summary>
    public const int BuilderVersion = 17; // 2: unet/controlled.onnx (ControlNet residual inputs); 3: SDXL folders have it too, unet/ipadapter.onnx (IP-Adapter inputs), pooled output at the end-of-text token past appended embedding ids; 4: fused MultiHeadAttention; 5: unet/ipadapter-controlled.onnx (ControlNet residuals and IP-Adapter inputs together), SDXL folders have ipadapter.onnx too; 6: IP-Adapter Plus (Resampler) graphs; 7: the ControlNet variants take optional T2I-Adapter features (down_intrablock_i); 8: every UNet graph (model.onnx and the variants, SD 1.x and SDXL) takes FreeU's optional factors (freeu_b1, freeu_b2, freeu_s1, freeu_s2, freeu_version); 9: every UNet graph also takes PAG's optional pag_mask input; 10: SD 2.x (OpenCLIP text tower with exact GELU and without its last layer, 64-wide UNet heads; SD 2.x diffusers folders were built as SD 1.x before); 11: every UNet graph also takes Deep Shrink's optional deep_shrink_block, deep_shrink_scale, deep_shrink_after_skip and deep_shrink_methods (If nodes around each input block's skip and decoder concatenation); 12: every UNet graph also takes SAG's optional sag_rows and returns sag_attention (the middle block's first self-attention map of those rows); 13: Deep Shrink's methods input also takes area (3, adaptive average pooling) and bislerp (4, ComfyUI's slerp resize), built from ONNX operators in the resize's If; 14: every UNet graph also takes HyperTile's optional hypertile_tiles (an If around each self-attention: tiled at the token counts its rows name); 15: every UNet graph also takes ToMe's optional tome_order and tome_counts (an If around each self-attention, HyperTile's inside its plain branch: queries merged by bipartite soft matching at the token count the order names); 16: a union ControlNet (ControlNet++: task_embedding, control_add_embedding) takes control_type, where it was built as a ControlNet of one type before; 17: each attention's transformer depth is read from its own blocks (encoder and decoder apart) and the middle block may be a lone residual block or absent (SSD-1B, Segmind Vega), where such a UNet failed to convert before; such a UNet's graphs take no pag_mask and return no sag_attention

    /// <summary>The environment variable that moves the cache (default: the user's local application data).</summary>
    public const string RootVariable = "FLOWDIFFUSION_CACHE";

    /// <summary>The cache folder: <c>$FLOWDIFFUSION_CACHE/checkpoints</c>, else local application data.</summary>
    public static string DefaultRoot => Path.Combine(
        Environment.GetEnvironmentVariable(RootVariable) is { Length: > 0 } root
            ? root
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "flowdiffusion"),
        "checkpoints");

    /// <summary>Whether <paramref name="path"/> is something to prepare: a weight file (<see cref="WeightFiles"/>: safetensors or a PyTorch checkpoint), or a diffusers folder with PyTorch-format weights and no ONNX.</summary>
    public static bool IsCheckpoint(string path) =>
        (File.Exists(path) && WeightFiles.IsWeightFile(path))
        || (Directory.Exists(path) && !File.Exists(Path.Combine(path, "unet", "model.onnx"))
            && DiffusersWeightFiles.Find(Path.Combine(path, "unet"), DiffusersWeightFiles.Model) is not null);

    /// <summary>
    /// The prepared folder for <paramref name="checkpoint"/>, converting it first when the cache has none.
    /// <paramref name="converting"/> is called before a conversion starts (to tell the user why this load is slow). The
    /// prediction type is read from the file's markers as model.load's <c>auto</c> reads it, so both share one folder.
    /// </summary>
    public static string Prepare(string checkpoint, string tokenizerFolder, string root, Action? converting = null) =>
        Prepare(checkpoint, tokenizerFolder, root, CheckpointSampling.Of(checkpoint, "auto"), converting);

    /// <summary>
    /// As <see cref="Prepare(string, string, string, Action?)"/>, for a UNet predicting <paramref name="predictionType"/>
    /// (epsilon or v_prediction; the file cannot tell), within <paramref name="limits"/> (cancellation, time, free space).
    /// </summary>
    public static string Prepare(string checkpoint, string tokenizerFolder, string root, string predictionType, Action? converting = null, ConversionLimits? limits = null) =>
        Prepare(checkpoint, tokenizerFolder, root, new CheckpointSampling(predictionType, false), converting, limits);

    /// <summary>
    /// As <see cref="Prepare(string, string, string, Action?)"/>, for a UNet predicting and scheduled as
    /// <paramref name="sampling"/> says, within <paramref name="limits"/> (cancellation, time, free space).
    /// </summary>
    public static string Prepare(string checkpoint, string tokenizerFolder, string root, CheckpointSampling sampling, Action? converting = null, ConversionLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        var predictionType = sampling.PredictionType;
        var full = Path.GetFullPath(checkpoint);
        var key = Key(full, tokenizerFolder);
        if (predictionType != "epsilon" || sampling.ZeroSnr)
        {
            key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key + "|" + predictionType + (sampling.ZeroSnr ? "|zsnr" : ""))))[..16];
        }

        var folder = Path.Combine(root, $"{Path.GetFileNameWithoutExtension(full.TrimEnd(Path.DirectorySeparatorChar))}-{key}");
        if (File.Exists(Path.Combine(folder, "model_index.json")))
        {
            return folder;
        }

        converting?.Invoke();
        Directory.CreateDirectory(root);
        try
        {
            (limits ?? ConversionLimits.Default).Run(full, root, token =>
            {
                if (SdxlCheckpoint.Detect(full) == ModelFamily.StableDiffusionXL)
                {
                    using var sdxl = SdxlCheckpoint.Open(full);
                    SdxlOnnxFolder.Write(sdxl, folder, tokenizerFolder, predictionType, cancellationToken: token, zeroSnr: sampling.ZeroSnr);
                }
                else
                {
                    using var model = Sd1Checkpoint.Open(full);
                    DiffusersOnnxFolder.Write(model, folder, tokenizerFolder, predictionType, cancellationToken: token, zeroSnr: sampling.ZeroSnr);
                }
            });
        }
        catch (IOException) when (File.Exists(Path.Combine(folder, "model_index.json")))
        {
            // Another process prepared the same checkpoint first; its folder is as good as ours.
        }

        return folder;
    }

    private static string Key(string checkpoint, string tokenizerFolder)
    {
        var identity = new StringBuilder().Append(BuilderVersion).Append('|');
        foreach (var file in Identity(checkpoint).Concat(Identity(Path.GetFullPath(tokenizerFolder))))
        {
            identity.Append(file.FullName).Append('|').Append(file.Length).Append('|').Append(file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16];
    }

    private static IEnumerable<FileInfo> Identity(string path) => Directory.Exists(path)
        ? new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Where(f => f.Extension is ".safetensors" or ".json" or ".txt" || DiffusersWeightFiles.IsOne(f)).OrderBy(f => f.FullName, StringComparer.Ordinal)
        : [new FileInfo(path)];
}
