using System.Numerics.Tensors;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// LyCORIS's LoHa (<c>hada_w1_a</c>, <c>hada_w1_b</c>, <c>hada_w2_a</c>, <c>hada_w2_b</c>): the element-wise (Hadamard)
/// product of two low-rank products, <c>ΔW = (w1_a · w1_b) ⊙ (w2_a · w2_b)</c>, each factor [out, rank] · [rank, in·kh·kw].
/// With Tucker cores (<c>hada_t1</c>, <c>hada_t2</c> [rank, rank, kh, kw]) each product is the rebuild
/// <c>einsum("i j k l, j r, i p -> p r k l", t, w_b, w_a)</c> with <c>w_a</c> [rank, out] and <c>w_b</c> [rank, in].
/// Scale: alpha / the rank of the first pair (the rows of <c>w1_b</c>), as ComfyUI takes it.
/// </summary>
/// <param name="W1A">The key of <c>hada_w1_a</c>.</param>
/// <param name="W1B">The key of <c>hada_w1_b</c>.</param>
/// <param name="W2A">The key of <c>hada_w2_a</c>.</param>
/// <param name="W2B">The key of <c>hada_w2_b</c>.</param>
/// <param name="T1">The key of <c>hada_t1</c>, or null without Tucker cores.</param>
/// <param name="T2">The key of <c>hada_t2</c>, or null.</param>
/// <param name="AlphaKey">The key of alpha, or null.</param>
/// <param name="Rank1">The first pair's rank.</param>
/// <param name="Rank2">The second pair's rank.</param>
/// <param name="Scale">alpha / <paramref name="Rank1"/>, 1 without alpha.</param>
public sealed record HadamardFactors(string W1A, string W1B, string W2A, string W2B, string? T1, string? T2, string? AlphaKey, int Rank1, int Rank2, float Scale)
    : LoraFactors(AlphaKey, Scale)
{
    /// <inheritdoc />
    public override string Algorithm => "loha";

    /// <inheritdoc />
    protected override IEnumerable<string> FactorKeys => T1 is null ? [W1A, W1B, W2A, W2B] : [W1A, W1B, W2A, W2B, T1, T2!];

    /// <inheritdoc />
    public override float[] ReadDelta(SafetensorsFile file, IReadOnlyList<long> shape, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(shape);
        var first = Pair(file, W1A, W1B, T1, Rank1, shape, cancellationToken);
        var second = Pair(file, W2A, W2B, T2, Rank2, shape, cancellationToken);
        TensorPrimitives.Multiply(first, second, first);
        return Scaled(first);
    }

    private static float[] Pair(SafetensorsFile file, string aKey, string bKey, string? tKey, int rank, IReadOnlyList<long> shape, CancellationToken cancellationToken)
    {
        var a = file.ReadFloat32(aKey);
        var b = file.ReadFloat32(bKey);
        var rows = (int)shape[0];
        var columns = checked((int)Columns(shape));
        if (tKey is null)
        {
            if (a.Length != rows * rank || b.Length != rank * columns)
            {
                throw new CheckpointException($"{file.Path}: LoHa factors '{aKey}' changed shape since they were matched.");
            }

            return LowRank.Product(a, b, rows, rank, columns, cancellationToken);
        }

        var t = file.ReadFloat32(tKey);
        var input = (int)shape[1];
        var kernel = columns / input;
        var rankB = b.Length / Math.Max(input, 1);
        if (a.Length != rank * rows || b.Length != rankB * input || t.Length != rank * rankB * kernel)
        {
            throw new CheckpointException($"{file.Path}: LoHa factors '{tKey}' changed shape since they were matched.");
        }

        return LowRank.Tucker(t, a, b, rank, rankB, rows, input, kernel, cancellationToken);
    }
}
