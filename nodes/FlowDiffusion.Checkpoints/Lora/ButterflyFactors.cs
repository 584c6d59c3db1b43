using System.Numerics.Tensors;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// LyCORIS's BOFT (<c>oft_blocks</c> [stages, blocks, size, size], <c>rescale</c>), as ComfyUI's <c>boft.py</c> merges
/// it: stage i (k = 2ⁱ · ⌊size / 2⌋) regroups the output rows, within each run of 2k, as (j, g) instead of (g, j),
/// multiplies each run of <c>size</c> regrouped rows by its block's Cayley rotation R (see <see cref="OrthogonalBlocks"/>;
/// at a strength s ≠ 1 by <c>s · R + (1 − s) · I</c>) and puts the rows back; the result times <c>rescale</c> (one factor
/// per output row) minus W is the change, added times the strength. alpha is the norm constraint over all stages' blocks;
/// DoRA multiplies the change by it.
/// </summary>
/// <param name="BlocksKey">The key of <c>oft_blocks</c>.</param>
/// <param name="RescaleKey">The key of <c>rescale</c>, or null.</param>
/// <param name="AlphaKey">The key of alpha (ComfyUI's BOFT needs one).</param>
/// <param name="Stages">The butterfly stages.</param>
/// <param name="BlockCount">Blocks per stage.</param>
/// <param name="BlockSize">The rows of a block.</param>
/// <param name="Constraint">alpha's value.</param>
public sealed record ButterflyFactors(string BlocksKey, string? RescaleKey, string AlphaKey, int Stages, int BlockCount, int BlockSize, float Constraint)
    : LoraFactors(AlphaKey, 1f)
{
    /// <inheritdoc />
    public override string Algorithm => "boft";

    /// <inheritdoc />
    public override float DoraFactor => Constraint;

    /// <inheritdoc />
    protected override IEnumerable<string> FactorKeys => RescaleKey is null ? [BlocksKey] : [BlocksKey, RescaleKey];

    /// <summary>Not available: BOFT's change depends on the weight; use the overload that takes it.</summary>
    public override float[] ReadDelta(SafetensorsFile file, IReadOnlyList<long> shape, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("BOFT's change is a rotation of the weight: read it with the weight and the strength.");

    /// <inheritdoc />
    public override float[] ReadDelta(SafetensorsFile file, float[] weight, IReadOnlyList<long> shape, float strength, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(shape);
        var blocks = file.ReadFloat32(BlocksKey);
        var (count, size) = (BlockCount, BlockSize);
        var rows = count * size;
        var rescale = RescaleKey is null ? null : file.ReadFloat32(RescaleKey);
        if (blocks.Length != Stages * count * size * size || weight.Length % rows != 0 || rows != shape[0] || (rescale is not null && rescale.Length != rows))
        {
            throw new CheckpointException($"{file.Path}: BOFT blocks '{BlocksKey}' changed shape since they were matched.");
        }

        var rotations = OrthogonalBlocks.Cayley(blocks, Stages * count, size, Constraint);
        if (strength != 1f)
        {
            for (var i = 0; i < rotations.Length; i++)
            {
                rotations[i] = (rotations[i] * strength) + (i / size % size == i % size ? 1f - strength : 0f);
            }
        }

        var columns = weight.Length / rows;
        var current = (float[])weight.Clone();
        var order = new int[rows];
        for (var stage = 0; stage < Stages; stage++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var k = (1 << stage) * (size / 2);
            for (var p = 0; p < rows; p++)
            {
                // position p = a·2k + j·2 + g of the regrouped rows holds row a·2k + g·k + j
                var (a, j, g) = (p / (2 * k), p % (2 * k) / 2, p % 2);
                order[p] = (a * 2 * k) + (g * k) + j;
            }

            var (next, from) = (new float[current.Length], current);
            Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken }, block =>
                OrthogonalBlocks.MixRows(from, next, order.AsSpan(block * size, size), rotations, ((stage * count) + block) * size * size, size, columns));

            current = next;
        }

        if (rescale is not null)
        {
            for (var o = 0; o < rows; o++)
            {
                var row = current.AsSpan(o * columns, columns);
                TensorPrimitives.Multiply(row, rescale[o], row);
            }
        }

        TensorPrimitives.Subtract(current, weight, current);
        return current;
    }
}
