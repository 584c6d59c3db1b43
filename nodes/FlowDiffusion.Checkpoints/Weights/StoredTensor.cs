using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// One tensor of a checkpoint under its canonical (diffusers) name: where it is stored and, when the canonical layout
/// differs from the stored one (LDM's 1×1-conv VAE attention against diffusers' linear), the shape it takes.
/// </summary>
public sealed record StoredTensor(SafetensorsFile File, SafetensorsTensor Tensor, long[] Shape)
{
    /// <summary>
    /// Rows of the stored tensor's first axis this canonical tensor is (OpenCLIP's fused <c>in_proj</c> holds q, k and v
    /// one after another), or null for the whole tensor.
    /// </summary>
    public (long Start, long Count)? Rows { get; init; }

    /// <summary>Whether the canonical tensor is the stored 2-D tensor transposed (OpenCLIP's <c>x @ text_projection</c> against a linear layer's [out, in]).</summary>
    public bool Transposed { get; init; }

    /// <summary>
    /// The 8-bit float type every value is rounded to once read (<see cref="Float8Rounding"/>; ComfyUI's UNETLoader
    /// <c>weight_dtype</c>), or null to keep the stored values.
    /// </summary>
    public SafetensorsDType? RoundTo { get; init; }

    /// <summary>
    /// The values as float32 (F32, F16, BF16, F64 and the fp8 types convert exactly as far as float32 holds them); an fp8
    /// weight stored with a scale beside it is multiplied by the scale; then rounded to <see cref="RoundTo"/> when set.
    /// </summary>
    public float[] ReadFloat32()
    {
        var values = File.ReadFloat32(Tensor.Name);
        if (ScaleOf() is { } scale)
        {
            for (var i = 0; i < values.Length; i++)
            {
                values[i] *= scale;
            }
        }

        if (Rows is var (start, count))
        {
            var row = Tensor.Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            values = values.AsSpan(checked((int)(start * row)), checked((int)(count * row))).ToArray();
        }

        if (Transposed)
        {
            var (rows, columns) = ((int)Tensor.Shape[0], (int)Tensor.Shape[1]);
            var transposed = new float[values.Length];
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < columns; c++)
                {
                    transposed[(c * rows) + r] = values[(r * columns) + c];
                }
            }

            values = transposed;
        }

        if (RoundTo is { } type)
        {
            Float8Rounding.Round(values, type);
        }

        return values;
    }

    // Scaled fp8 files store a weight w as the fp8 value of w / scale, with the scale beside it: ComfyUI's scaled fp8
    // checkpoints as `<layer>.scale_weight`, its newer quantized layout as `<layer>.weight_scale`. One number per tensor
    // is read; per-channel or block scales are refused rather than read unscaled.
    private float? ScaleOf()
    {
        if (Tensor.DType is not (SafetensorsDType.Float8E4M3 or SafetensorsDType.Float8E5M2) || !Tensor.Name.EndsWith(".weight", StringComparison.Ordinal))
        {
            return null;
        }

        var layer = Tensor.Name[..^"weight".Length];
        foreach (var key in new[] { layer + "scale_weight", layer + "weight_scale" })
        {
            if (!File.Tensors.TryGetValue(key, out var scale))
            {
                continue;
            }

            if (scale.ElementCount != 1 || !SafetensorsDTypes.ConvertsToFloat32(scale.DType))
            {
                throw new CheckpointException($"{File.Path}: the scale '{key}' of the fp8 weight '{Tensor.Name}' is {SafetensorsDTypes.Name(scale.DType)} {scale.ShapeText}; only one number per tensor is read (per-channel and block scales are not supported).");
            }

            return File.ReadFloat32(key)[0];
        }

        return null;
    }

    /// <summary>Where it came from, for messages: <c>file: tensor</c>.</summary>
    public string Origin => $"{File.Path}: {Tensor.Name}";
}
