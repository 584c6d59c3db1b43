using System.Globalization;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Cli.Commands;

/// <summary>
/// <c>model-run --part unet --ipadapter FILE:WEIGHT</c>: the image prompt of every row for the UNet's prediction (with
/// <c>--controlnet</c> too, both in the same call), row b attending to image b's tokens at the weight. The images come as
/// <c>image_embeds</c> [B, width] in the input file (IP-Adapter Plus: <c>penultimate_hidden_states</c> [B, tokens, width]),
/// or as <c>pixel_values</c> [B, 3, S, S] (preprocessed) with <c>--clip-vision</c> to encode them.
/// </summary>
internal static class ModelRunImagePrompt
{
    /// <summary>Each row's image prompt: image b's keys and values at the weight on every one of <paramref name="layers"/> layers.</summary>
    public static IpAttention[] Rows(OnnxSessionCache cache, UNet unet, SafetensorsFile tensors, string spec, string? clipVision, LatentShape shape, int layers, CancellationToken cancellationToken)
    {
        var (file, weight) = ModelRunSpec.Parse("--ipadapter", spec, "WEIGHT", "models/ipadapter/ip-adapter_sd15.safetensors:0.7", folders: false);

        var adapter = IpAdapterModel.Open(cache, new OnnxModelSource(Prepared(file, IpAdapter: true), unet.Source.Options));
        var embeds = ImageInputs(cache, tensors, clipVision, adapter.TakesHiddenStates, unet.Source.Options, cancellationToken);
        if (embeds.Batch != shape.Batch || embeds.Width != adapter.EmbeddingWidth)
        {
            throw new ArgumentException($"{tensors.Path}: the image {(adapter.TakesHiddenStates ? "hidden states" : "embeddings")} are {embeds.Batch} × {embeds.Width} wide; {shape.Batch} × {adapter.EmbeddingWidth} expected (one per row, the adapter's width)");
        }

        var item = embeds.Values.Length / embeds.Batch;
        var scales = Enumerable.Repeat(weight, layers).ToArray();
        return [.. Enumerable.Range(0, shape.Batch).Select(b => new IpAttention([adapter.Project(embeds.Values.AsSpan(b * item, item).ToArray(), 1, cancellationToken)], scales))];
    }

    // The adapter's input for every row: image embeddings [B, width], or for Plus penultimate hidden states [B, tokens, width].
    private static (float[] Values, int Batch, int Width) ImageInputs(OnnxSessionCache cache, SafetensorsFile tensors, string? clipVision, bool hiddenStates, OnnxSessionOptions options, CancellationToken cancellationToken)
    {
        const string States = "penultimate_hidden_states";
        if (hiddenStates && tensors.Tensors.TryGetValue(States, out var given))
        {
            if (given.Shape.Length != 3)
            {
                throw new ArgumentException($"{tensors.Path}: tensor '{States}' has shape {given.ShapeText}; [batch, tokens, width] expected.");
            }

            return (tensors.ReadFloat32(States), (int)given.Shape[0], (int)given.Shape[2]);
        }

        if (!hiddenStates && tensors.Tensors.TryGetValue("image_embeds", out var embeds))
        {
            if (embeds.Shape.Length != 2)
            {
                throw new ArgumentException($"{tensors.Path}: tensor 'image_embeds' has shape {embeds.ShapeText}; [batch, width] expected.");
            }

            return (tensors.ReadFloat32("image_embeds"), (int)embeds.Shape[0], (int)embeds.Shape[1]);
        }

        if (clipVision is null || !tensors.Tensors.TryGetValue("pixel_values", out var pixels))
        {
            throw new ArgumentException(hiddenStates
                ? $"{tensors.Path}: an IP-Adapter Plus needs tensor '{States}' [B, tokens, width], or 'pixel_values' [B, 3, S, S] with --clip-vision"
                : $"{tensors.Path}: --ipadapter needs tensor 'image_embeds' [B, width], or 'pixel_values' [B, 3, S, S] with --clip-vision");
        }

        if (!File.Exists(clipVision) && !Directory.Exists(clipVision))
        {
            throw new UsageException($"--clip-vision {clipVision}: no such file or folder");
        }

        var encoder = ClipVisionModel.Open(cache, new OnnxModelSource(Prepared(clipVision, IpAdapter: false), options));
        if (pixels.Shape.Length != 4 || pixels.Shape[1] != 3 || pixels.Shape[2] != encoder.ImageSize || pixels.Shape[3] != encoder.ImageSize)
        {
            throw new ArgumentException($"{tensors.Path}: tensor 'pixel_values' has shape {pixels.ShapeText}; [B, 3, {encoder.ImageSize}, {encoder.ImageSize}] expected.");
        }

        if (hiddenStates)
        {
            if (!encoder.HasHiddenStates)
            {
                throw new ArgumentException($"--clip-vision {clipVision}: the encoder gives no penultimate hidden states, which an IP-Adapter Plus reads; give its .safetensors file or folder");
            }

            var (_, _, hidden) = encoder.EncodeWithHiddenStates(tensors.ReadFloat32("pixel_values"), (int)pixels.Shape[0], cancellationToken);
            return (hidden.Penultimate.ToArray(), hidden.Batch, hidden.Width);
        }

        var (values, width) = encoder.Encode(tensors.ReadFloat32("pixel_values"), (int)pixels.Shape[0], cancellationToken);
        return (values, (int)pixels.Shape[0], width);
    }

    private static string Prepared(string path, bool IpAdapter)
    {
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            return path;
        }

        void Converting() => Console.Error.WriteLine($"converting {Path.GetFileName(path.TrimEnd(Path.DirectorySeparatorChar))} to ONNX (first use only)");
        return IpAdapter
            ? PreparedGraphCache.PrepareIpAdapter(path, PreparedGraphCache.RootOf("ipadapter"), Converting)
            : PreparedGraphCache.PrepareClipVision(path, PreparedGraphCache.RootOf("clip_vision"), Converting);
    }
}
