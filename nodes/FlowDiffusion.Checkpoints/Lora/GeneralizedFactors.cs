using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// LyCORIS's GLoRA (<c>a1.weight</c>, <c>a2.weight</c>, <c>b1.weight</c>, <c>b2.weight</c>, each flattened to two axes), as
/// ComfyUI's <c>glora.py</c> merges it, in one of two layouts told apart by their shapes. Current layout (a1 [in, r],
/// a2 [r, in], b1 [out, r], b2 [r, in·kh·kw]): <c>ΔW = W ·₁ (a1 · a2) + b1 · b2</c>, where ·₁ multiplies the weight's
/// input-channel axis (for a convolution at every kernel position). Old LyCORIS layout (b2 [out, r], b1 [r, in·kh·kw],
/// a2 [in·kh·kw, r], a1 [r, in·kh·kw]): <c>ΔW = b2 · b1 + W · a2 · a1</c> over the flattened kernel. Scale: alpha over the
/// rank (a1's rows in the old layout, a2's in the current one), 1 without alpha.
/// </summary>
/// <param name="A1">The key of <c>a1.weight</c>.</param>
/// <param name="A2">The key of <c>a2.weight</c>.</param>
/// <param name="B1">The key of <c>b1.weight</c>.</param>
/// <param name="B2">The key of <c>b2.weight</c>.</param>
/// <param name="AlphaKey">The key of alpha, or null.</param>
/// <param name="Old">Whether the factors are in the old LyCORIS layout.</param>
/// <param name="Rank">The rank.</param>
/// <param name="Scale">alpha / <paramref name="Rank"/>, 1 without alpha.</param>
public sealed record GeneralizedFactors(string A1, string A2, string B1, string B2, string? AlphaKey, bool Old, int Rank, float Scale) : LoraFactors(AlphaKey, Scale)
{
    /// <inheritdoc />
    public override string Algorithm => "glora";

    /// <inheritdoc />
    protected override IEnumerable<string> FactorKeys => [A1, A2, B1, B2];

    /// <summary>Not available: GLoRA's change depends on the weight; use the overload that takes it.</summary>
    public override float[] ReadDelta(SafetensorsFile file, IReadOnlyList<long> shape, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("GLoRA's change reads the weight: read it with the weight.");

    /// <inheritdoc />
    public override float[] ReadDelta(SafetensorsFile file, float[] weight, IReadOnlyList<long> shape, float strength, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(shape);
        var (a1, a2, b1, b2) = (file.ReadFloat32(A1), file.ReadFloat32(A2), file.ReadFloat32(B1), file.ReadFloat32(B2));
        var rows = (int)shape[0];
        var inputs = (int)shape[1];
        var columns = weight.Length / rows;
        var kernel = columns / inputs;
        var r = Rank;
        if (a1.Length != r * (Old ? columns : inputs) || a2.Length != r * (Old ? columns : inputs) || b1.Length != r * (Old ? columns : rows) || b2.Length != r * (Old ? rows : columns))
        {
            throw new CheckpointException($"{file.Path}: GLoRA factors '{A1}' changed shape since they were matched.");
        }

        float[] change;
        if (Old)
        {
            // b2 [out, r] · b1 [r, cols] + (W [out, cols] · a2 [cols, r]) · a1 [r, cols]
            change = LowRank.Product(b2, b1, rows, r, columns, cancellationToken);
            var mixed = LowRank.Product(LowRank.Product(weight, a2, rows, columns, r, cancellationToken), a1, rows, r, columns, cancellationToken);
            System.Numerics.Tensors.TensorPrimitives.Add(change, mixed, change);
        }
        else
        {
            // W as [(out, position), in] times a1 [in, r] times a2 [r, in], back to [out, in, position]; then b1 · b2.
            var byPosition = kernel == 1 ? weight : Positions(weight, rows, inputs, kernel, toPositions: true);
            var mixed = LowRank.Product(LowRank.Product(byPosition, a1, rows * kernel, inputs, r, cancellationToken), a2, rows * kernel, r, inputs, cancellationToken);
            change = kernel == 1 ? mixed : Positions(mixed, rows, inputs, kernel, toPositions: false);
            System.Numerics.Tensors.TensorPrimitives.Add(change, LowRank.Product(b1, b2, rows, r, columns, cancellationToken), change);
        }

        return Scaled(change);
    }

    // [out, in, kernel] ⇄ [out, kernel, in].
    private static float[] Positions(float[] values, int rows, int inputs, int kernel, bool toPositions)
    {
        var result = new float[values.Length];
        for (var o = 0; o < rows; o++)
        {
            for (var i = 0; i < inputs; i++)
            {
                for (var x = 0; x < kernel; x++)
                {
                    var natural = (((o * inputs) + i) * kernel) + x;
                    var positional = (((o * kernel) + x) * inputs) + i;
                    if (toPositions)
                    {
                        result[positional] = values[natural];
                    }
                    else
                    {
                        result[natural] = values[positional];
                    }
                }
            }
        }

        return result;
    }
}
