using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>Prepared UNet-only files, beside the prepared checkpoints and keyed the same way.</summary>
public static partial class CheckpointCache
{
    /// <summary>
    /// The prepared folder (<c>unet/</c>, <c>scheduler/</c>) for the UNet-only file <paramref name="unet"/>, sampled as
    /// <paramref name="sampling"/> says, converting it first when the cache has none, within <paramref name="limits"/>
    /// (cancellation, time, free space). A changed file (size or time) is converted again. With <paramref name="roundTo"/>
    /// (ComfyUI's UNETLoader <c>weight_dtype</c>) every weight is rounded to that 8-bit float type, in a folder of its own.
    /// </summary>
    public static string PrepareUNet(string unet, string root, CheckpointSampling sampling, Action? converting = null, ConversionLimits? limits = null, SafetensorsDType? roundTo = null)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        var full = Path.GetFullPath(unet);
        var file = new FileInfo(full);
        // "unet2": SDXL refiner UNets are told from their file since (SdxlCheckpoint.IsRefinerUNet); one converted as a base before is converted again.
        var identity = new StringBuilder("unet2|").Append(BuilderVersion).Append('|').Append(file.FullName).Append('|').Append(file.Length).Append('|')
            .Append(file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('|').Append(sampling.PredictionType).Append(sampling.ZeroSnr ? "|zsnr" : "")
            .Append(roundTo is { } type ? "|" + SafetensorsDTypes.Name(type) : "");
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16];
        var folder = Path.Combine(root, $"unet-{Path.GetFileNameWithoutExtension(full)}-{key}");
        if (File.Exists(Path.Combine(folder, "unet", "model.onnx")))
        {
            return folder;
        }

        converting?.Invoke();
        Directory.CreateDirectory(root);
        try
        {
            (limits ?? ConversionLimits.Default).Run(full, root, token => UNetOnnxFolder.Write(full, folder, sampling, token, roundTo));
        }
        catch (IOException) when (File.Exists(Path.Combine(folder, "unet", "model.onnx")))
        {
            // Another process prepared the same file first.
        }

        return folder;
    }
}
