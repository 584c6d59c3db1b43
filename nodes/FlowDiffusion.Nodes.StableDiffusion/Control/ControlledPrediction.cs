using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>
/// ControlNets' part of one UNet evaluation: each ControlNet acting at this timestep runs on the call's rows with its control
/// image (resized, nearest-exact with a centre crop as ComfyUI does, to the latent size × 8); its residuals, scaled by each
/// row's strength, are summed over the stack for the UNet graph variant that takes them. A T2I-Adapter in the stack gives
/// features of its control image instead (computed once per image), scaled by each row's strength and summed for the same
/// variant's <c>down_intrablock_i</c> inputs.
/// </summary>
internal static class ControlledPrediction
{
    /// <summary>The active entries at <paramref name="timestep"/> (in range, some row's strength non-zero).</summary>
    public static IReadOnlyList<ControlEntry> Active(ControlStack stack, float timestep, int rows) =>
        [.. stack.Entries.Where(e => e.Hint.ActsAt(timestep) && Enumerable.Range(0, rows).Any(r => e.StrengthOf(r) != 0))];

    /// <summary>
    /// Runs the active ControlNets and sums their residuals, scaled by each row's strength, for the UNet graph variant that
    /// takes them; <paramref name="textEmbeds"/> and <paramref name="timeIds"/> are SDXL's added conditioning (null for
    /// SD 1.x), which the SDXL ControlNet's encoder takes as the UNet does. A Control-LoRA's ControlNet is made from
    /// <paramref name="unet"/>, the UNet being evaluated. An LCM-distilled UNet's guidance embedding goes
    /// to the UNet only: ControlNets take the timestep alone, as in diffusers.
    /// </summary>
    public static Dictionary<string, ControlResidual> Residuals(
        IReadOnlyList<ControlEntry> active, UNet unet, DenoiserInput input, float[] sample, float[] hidden, float[]? textEmbeds, float[]? timeIds, CancellationToken cancellationToken)
    {
        var shape = input.Shape;
        var tokens = input.Context.Tokens;
        Dictionary<string, ControlResidual>? sum = null;
        var features = new Dictionary<string, ControlResidual>(StringComparer.Ordinal);
        foreach (var entry in active)
        {
            if (entry.Hint.Net is T2IAdapterHandle adapter)
            {
                AddFeatures(adapter, entry, shape, features, cancellationToken);
                continue;
            }

            var (model, controlType, pooled) = entry.Hint.Net switch
            {
                ControlNetHandle net => (net.Model, net.ControlType, net.GlobalAveragePooling),
                ControlLoraHandle lora => (lora.For(unet, cancellationToken), null, false),
                var other => throw new ArgumentException($"the ControlNet '{other.Name}' was not loaded by controlnet.load"),
            };
            var (image, imageShape) = HintTensor(entry, shape);
            var residuals = model.Predict(sample, shape, input.Timestep, hidden, tokens, image, imageShape, textEmbeds, timeIds, controlType, cancellationToken);
            residuals = pooled ? [.. residuals.Select(r => r.PooledGlobally())] : residuals;
            sum ??= residuals.ToDictionary(r => r.Name, r => r with { Values = new float[r.Values.Length] }, StringComparer.Ordinal);
            for (var n = 0; n < residuals.Count; n++)
            {
                var residual = residuals[n];
                var scale = entry.Hint.ResidualScale(n, residuals.Count);
                if (!sum.TryGetValue(residual.Name, out var total) || total.Values.Length != residual.Values.Length)
                {
                    throw new ArgumentException($"the stacked ControlNets give different residuals ('{residual.Name}'); they were made for different UNets");
                }

                var row = residual.Values.Length / shape.Batch;
                for (var b = 0; b < shape.Batch; b++)
                {
                    var strength = (float)(entry.StrengthOf(b) * scale);
                    var source = residual.Values.AsSpan(b * row, row);
                    var target = total.Values.AsSpan(b * row, row);
                    for (var i = 0; i < row; i++) target[i] += strength * source[i];
                }
            }
        }

        var inputs = sum ?? new Dictionary<string, ControlResidual>(StringComparer.Ordinal);
        foreach (var (name, feature) in features) inputs[name] = feature;
        return inputs;
    }

    // Each row's features (its control image item's, at the image size) × its strength, added to the running sums.
    private static void AddFeatures(T2IAdapterHandle adapter, ControlEntry entry, LatentShape shape, Dictionary<string, ControlResidual> sums, CancellationToken cancellationToken)
    {
        for (var b = 0; b < shape.Batch; b++)
        {
            var strength = entry.StrengthOf(b);
            if (strength == 0)
            {
                continue;
            }

            var features = adapter.Features(entry.Hint.Image, entry.ImageOf(b, shape.Batch), shape.Height * 8, shape.Width * 8, cancellationToken);
            for (var level = 0; level < features.Count; level++)
            {
                var feature = features[level];
                var name = UNetVariant.FeaturePrefix + level.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var row = feature.Values.Length;
                if (!sums.TryGetValue(name, out var total))
                {
                    total = new ControlResidual(name, new float[shape.Batch * row], [shape.Batch, .. feature.Shape[1..]]);
                    sums[name] = total;
                }
                else if (total.Values.Length != shape.Batch * row)
                {
                    throw new ArgumentException($"the stacked T2I-Adapters give features of different shapes at level {level}; they were made for different UNets");
                }

                var target = total.Values.AsSpan(b * row, row);
                for (var i = 0; i < row; i++) target[i] += strength * feature.Values[i];
            }
        }
    }

    private static (float[] Values, long[] Shape) HintTensor(ControlEntry entry, LatentShape shape)
    {
        var image = entry.Hint.Image;
        int height = shape.Height * 8, width = shape.Width * 8;
        var item = 3 * height * width;
        var values = new float[shape.Batch * item];
        for (var b = 0; b < shape.Batch; b++)
        {
            var source = image.PixelsOf(entry.ImageOf(b, shape.Batch));
            if (image.Height == height && image.Width == width)
            {
                source.CopyTo(values.AsSpan(b * item, item));
            }
            else
            {
                PlanarResize.Resize(source, 3, image.Height, image.Width, height, width, "nearest-exact", centerCrop: true).CopyTo(values.AsSpan(b * item, item));
            }
        }

        return (values, [shape.Batch, 3, height, width]);
    }
}
