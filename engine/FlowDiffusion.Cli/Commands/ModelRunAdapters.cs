using System.Globalization;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Cli.Commands;

/// <summary>
/// <c>model-run --part unet --t2i-adapter FILE:STRENGTH</c>: each adapter's features of its control image (tensor
/// <c>adapter_cond</c>, then <c>adapter_cond_1</c> …, [B, C, H, W] in 0..1 at image resolution) × strength, summed per row
/// into the controlled UNet's <c>down_intrablock_i</c> inputs.
/// </summary>
internal static class ModelRunAdapters
{
    /// <summary>The summed, scaled features of each row, by UNet input name (empty dictionaries without adapters).</summary>
    public static Dictionary<string, ControlResidual>[] RowFeatures(OnnxSessionCache cache, OnnxSessionOptions options, SafetensorsFile tensors, string[] adapters, LatentShape shape, CancellationToken cancellationToken)
    {
        var rows = Enumerable.Range(0, shape.Batch).Select(_ => new Dictionary<string, ControlResidual>(StringComparer.Ordinal)).ToArray();
        for (var i = 0; i < adapters.Length; i++)
        {
            var spec = adapters[i];
            var (file, strength) = ModelRunSpec.Parse("--t2i-adapter", spec, "STRENGTH", "models/controlnet/t2iadapter_canny_sd15v2.safetensors:1");

            var graph = file.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
                ? file
                : T2IAdapterCache.Prepare(file, T2IAdapterCache.DefaultRoot, () => Console.Error.WriteLine($"converting {Path.GetFileName(file)} to ONNX (first use only)"));
            var model = T2IAdapterModel.Open(cache, new OnnxModelSource(graph, options));
            var name = i == 0 ? "adapter_cond" : $"adapter_cond_{i}";
            var (image, imageShape) = ModelRunCommand.Floats(tensors, name, 4);
            if (imageShape[0] != shape.Batch || imageShape[1] != model.InputChannels || imageShape[2] != shape.Height * 8 || imageShape[3] != shape.Width * 8)
            {
                throw new ArgumentException($"{tensors.Path}: tensor '{name}' has shape [{string.Join(", ", imageShape)}]; [{shape.Batch}, {model.InputChannels}, {shape.Height * 8}, {shape.Width * 8}] expected (the control image at image resolution, the adapter's channels)");
            }

            var features = model.Predict(image, imageShape, cancellationToken);
            for (var level = 0; level < features.Count; level++)
            {
                var feature = features[level];
                var row = feature.Values.Length / shape.Batch;
                var input = UNetVariant.FeaturePrefix + level.ToString(CultureInfo.InvariantCulture);
                for (var b = 0; b < shape.Batch; b++)
                {
                    if (!rows[b].TryGetValue(input, out var total))
                    {
                        total = new ControlResidual(input, new float[row], [1, .. feature.Shape[1..]]);
                        rows[b][input] = total;
                    }
                    else if (total.Values.Length != row)
                    {
                        throw new ArgumentException($"--t2i-adapter: the adapters give features of different shapes at level {level}; they were made for different UNets");
                    }

                    var source = feature.Values.AsSpan(b * row, row);
                    for (var k = 0; k < row; k++) total.Values[k] += strength * source[k];
                }
            }
        }

        return rows;
    }
}
