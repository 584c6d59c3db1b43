using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// LyCORIS's LoKr: <c>ΔW = w1 ⊗ w2</c> (the Kronecker product), <c>w1</c> [a, b] and <c>w2</c> [c, d·kh·kw] with
/// a·c = out and b·d = in. Either factor is stored whole (<c>lokr_w1</c>, <c>lokr_w2</c>, which may keep its kernel axes)
/// or as a low-rank pair (<c>lokr_w1_a</c> · <c>lokr_w1_b</c>, <c>lokr_w2_a</c> · <c>lokr_w2_b</c>); <c>w2</c> may have a
/// Tucker core (<c>lokr_t2</c>). Scale, as ComfyUI takes it: alpha over the rank of the decomposed factor (w2's when both
/// are), 1 when neither is decomposed or there is no alpha.
/// </summary>
/// <param name="W1">The key of <c>lokr_w1</c>, or null when w1 is a pair.</param>
/// <param name="W1A">The key of <c>lokr_w1_a</c>, or null.</param>
/// <param name="W1B">The key of <c>lokr_w1_b</c>, or null.</param>
/// <param name="W2">The key of <c>lokr_w2</c>, or null when w2 is a pair.</param>
/// <param name="W2A">The key of <c>lokr_w2_a</c>, or null.</param>
/// <param name="W2B">The key of <c>lokr_w2_b</c>, or null.</param>
/// <param name="T2">The key of <c>lokr_t2</c>, or null.</param>
/// <param name="AlphaKey">The key of alpha, or null.</param>
/// <param name="W1Shape">w1's [rows, columns].</param>
/// <param name="W2Shape">w2's [rows, columns] (its kernel axes folded into the columns).</param>
/// <param name="Rank1">w1's rank when a pair (0 otherwise).</param>
/// <param name="Rank2">w2's rank when a pair (0 otherwise).</param>
/// <param name="Scale">The scale.</param>
public sealed record KroneckerFactors(
    string? W1, string? W1A, string? W1B, string? W2, string? W2A, string? W2B, string? T2, string? AlphaKey,
    (int Rows, int Columns) W1Shape, (int Rows, int Columns) W2Shape, int Rank1, int Rank2, float Scale) : LoraFactors(AlphaKey, Scale)
{
    /// <inheritdoc />
    public override string Algorithm => "lokr";

    /// <inheritdoc />
    protected override IEnumerable<string> FactorKeys => new[] { W1, W1A, W1B, W2, W2A, W2B, T2 }.OfType<string>();

    /// <inheritdoc />
    public override float[] ReadDelta(SafetensorsFile file, IReadOnlyList<long> shape, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(shape);
        var w1 = W1 is not null ? file.ReadFloat32(W1) : LowRank.Product(file.ReadFloat32(W1A!), file.ReadFloat32(W1B!), W1Shape.Rows, Rank1, W1Shape.Columns, cancellationToken);
        float[] w2;
        if (W2 is not null)
        {
            w2 = file.ReadFloat32(W2);
        }
        else if (T2 is null)
        {
            w2 = LowRank.Product(file.ReadFloat32(W2A!), file.ReadFloat32(W2B!), W2Shape.Rows, Rank2, W2Shape.Columns, cancellationToken);
        }
        else
        {
            // Tucker: t2 [rank, rank', kh, kw], w2_a [rank, c], w2_b [rank', d]; the kernel is what d·kh·kw leaves.
            var t = file.ReadFloat32(T2);
            var b = file.ReadFloat32(W2B!);
            var kernel = (int)(Columns(shape) / shape[1]);
            var inputs = W2Shape.Columns / kernel;
            var rankB = b.Length / inputs;
            w2 = LowRank.Tucker(t, file.ReadFloat32(W2A!), b, Rank2, rankB, W2Shape.Rows, inputs, kernel, cancellationToken);
        }

        if (w1.Length != W1Shape.Rows * W1Shape.Columns || w2.Length != W2Shape.Rows * W2Shape.Columns)
        {
            throw new CheckpointException($"{file.Path}: LoKr factors '{W1 ?? W1A}' changed shape since they were matched.");
        }

        return Scaled(LowRank.Kronecker(w1, W1Shape.Rows, W1Shape.Columns, w2, W2Shape.Rows, W2Shape.Columns, cancellationToken));
    }
}
