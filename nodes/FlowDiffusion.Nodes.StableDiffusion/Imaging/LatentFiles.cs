using System.Buffers.Binary;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// ComfyUI's <c>.latent</c> file (SaveLatent / LoadLatent): a safetensors file whose tensor <c>latent_tensor</c> holds
/// [batch, channels, height, width] latents as the VAE gives them, before the model's scaling factor (ComfyUI's LATENT
/// samples), and whose empty tensor <c>latent_format_version_0</c> marks that format. Files without the marker come from
/// ComfyUI before it and hold latents already × 0.18215, which ComfyUI's loader divides out again.
/// Our latents are already × the VAE's scaling factor, so writing divides by it and reading multiplies by it; the values
/// are written as float64 so that a latent written and read again here is the same float32 latent bit for bit
/// (ComfyUI writes float32 and reads any floating-point type).
/// </summary>
internal static class LatentFiles
{
    /// <summary>The tensor holding the latents.</summary>
    public const string TensorKey = "latent_tensor";

    /// <summary>The empty tensor that marks latents stored without the scaling factor.</summary>
    public const string VersionKey = "latent_format_version_0";

    /// <summary>The factor latents carry in files without <see cref="VersionKey"/> (ComfyUI's loader divides by it).</summary>
    public const double LegacyScalingFactor = 0.18215;

    /// <summary>The most batch items a file may hold (latent.empty's largest batch).</summary>
    public const int MaxBatch = 64;

    /// <summary>The most channels a latent in a file may have.</summary>
    public const int MaxChannels = 64;

    /// <summary>Writes <paramref name="latent"/> to <paramref name="path"/>, divided by <paramref name="scalingFactor"/>, with the metadata strings.</summary>
    public static void Write(string path, Latent latent, double scalingFactor, IReadOnlyDictionary<string, string> metadata)
    {
        var values = latent.Values;
        var data = new byte[(long)values.Length * sizeof(double)];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(i * sizeof(double)), values[i] / scalingFactor);
        }

        SafetensorsWriter.Write(path,
        [
            (TensorKey, SafetensorsDType.Float64, [latent.Batch, latent.Channels, latent.Height, latent.Width], data),
            (VersionKey, SafetensorsDType.Float32, [0], []),
        ], metadata);
    }

    /// <summary>
    /// Reads the latents of the file at <paramref name="path"/> (already resolved inside the input folders) and multiplies
    /// them by <paramref name="scalingFactor"/>. Every problem is an <see cref="InvalidDataException"/> naming
    /// <paramref name="parameter"/> and the file as the workflow gave it (<paramref name="name"/>), never the server's path.
    /// </summary>
    public static Latent Read(string path, string parameter, string name, double scalingFactor, InputLimits limits)
    {
        InvalidDataException Bad(string problem) => new($"{parameter} '{name}': {problem}");
        if (Directory.Exists(path)) throw Bad("is a folder, not a .latent file");
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{parameter} '{name}': no such latent file", name);
        // Pipes, sockets and devices report a size of 0 (and opening a pipe blocks until a writer comes): refused before opening.
        if (info.Length == 0) throw Bad("is empty or not a regular file (a pipe or device)");
        if (info.Length > limits.MaxFileBytes)
            throw Bad($"is {info.Length:N0} bytes; input files are limited to {limits.MaxFileBytes:N0} bytes (FlowDiffusion:MaxInputFileBytes)");
        try
        {
            using var file = SafetensorsFile.Open(path);
            if (!file.Tensors.TryGetValue(TensorKey, out var tensor))
                throw Bad($"has no '{TensorKey}' tensor, so it is not a latent file written by SaveLatent (it has {Names(file)})");
            if (tensor.Shape.Length != 4)
                throw Bad($"'{TensorKey}' has shape {tensor.ShapeText}; a latent is [batch, channels, height, width]");
            var maxSide = limits.MaxImageDimension / 8;
            if (tensor.Shape[0] is < 1 or > MaxBatch || tensor.Shape[1] is < 1 or > MaxChannels || tensor.Shape[2] < 1 || tensor.Shape[2] > maxSide
                || tensor.Shape[3] < 1 || tensor.Shape[3] > maxSide)
            {
                throw Bad($"'{TensorKey}' has shape {tensor.ShapeText}; batch must be 1 … {MaxBatch}, channels 1 … {MaxChannels}, height and width 1 … {maxSide}");
            }

            var factor = file.Tensors.ContainsKey(VersionKey) ? scalingFactor : scalingFactor / LegacyScalingFactor;
            var values = new float[tensor.ElementCount];
            if (tensor.DType == SafetensorsDType.Float64)
            {
                // Read as doubles, so that a file this class wrote gives back the float32 latent it was written from.
                var bytes = file.GetBytes(tensor);
                for (var i = 0; i < values.Length; i++) values[i] = (float)(BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * sizeof(double))..]) * factor);
            }
            else if (SafetensorsDTypes.ConvertsToFloat32(tensor.DType))
            {
                file.ReadFloat32(tensor, values);
                for (var i = 0; i < values.Length; i++) values[i] = (float)(values[i] * factor);
            }
            else
            {
                throw Bad($"'{TensorKey}' is {SafetensorsDTypes.Name(tensor.DType)}; latents must be a floating-point tensor (F32, F16, BF16 or F64)");
            }

            return new Latent((int)tensor.Shape[0], (int)tensor.Shape[1], (int)tensor.Shape[2], (int)tensor.Shape[3], values);
        }
        catch (SafetensorsException e)
        {
            throw Bad($"is not a readable .latent (safetensors) file: {(e.TensorName is null ? "" : $"tensor '{e.TensorName}': ")}{e.Problem}");
        }
    }

    private static string Names(SafetensorsFile file) =>
        file.Tensors.Count == 0 ? "no tensors" : string.Join(", ", file.Tensors.Keys.Take(8).Select(k => $"'{k}'")) + (file.Tensors.Count > 8 ? ", …" : "");
}
