using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// LyCORIS's OFT (<c>oft_blocks</c> [blocks, size, size]), as ComfyUI's current <c>oft.py</c> merges it: the weight's
/// output rows, in blocks of <c>size</c>, are turned by the Cayley rotations R of the blocks (see
/// <see cref="OrthogonalBlocks"/>), each block of rows multiplied by Rᵀ (<c>einsum("k n m, k n ... -> k m ...")</c>). The
/// change is <c>strength · (Rᵀ − I) · W</c>, so the update is <c>W + strength² · (Rᵀ − I) · W</c>, as ComfyUI scales it
/// twice. alpha is the norm constraint (none without alpha); DoRA multiplies the change by it. A stored <c>rescale</c> is
/// not applied (ComfyUI's OFT merge reads it and never uses it).
/// </summary>
/// <param name="BlocksKey">The key of <c>oft_blocks</c>.</param>
/// <param name="AlphaKey">The key of alpha, or null.</param>
/// <param name="BlockCount">How many blocks.</param>
/// <param name="BlockSize">The rows of a block.</param>
/// <param name="Constraint">alpha's value (0 without alpha: no constraint).</param>
public sealed record OrthogonalFactors(string BlocksKey, string? AlphaKey, int BlockCount, int BlockSize, float Constraint) : LoraFactors(AlphaKey, 1f)
{
    /// <inheritdoc />
    public override string Algorithm => "oft";

    /// <inheritdoc />
    public override float DoraFactor => Constraint;

    /// <inheritdoc />
    protected override IEnumerable<string> FactorKeys => [BlocksKey];

    /// <summary>Not available: OFT's change depends on the weight; use the overload that takes it.</summary>
    public override float[] ReadDelta(SafetensorsFile file, IReadOnlyList<long> shape, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("OFT's change is a rotation of the weight: read it with the weight and the strength.");

    /// <inheritdoc />
    public override float[] ReadDelta(SafetensorsFile file, float[] weight, IReadOnlyList<long> shape, float strength, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(shape);
        var blocks = file.ReadFloat32(BlocksKey);
        var (count, size) = (BlockCount, BlockSize);
        if (blocks.Length != count * size * size || weight.Length % (count * size) != 0)
        {
            throw new CheckpointException($"{file.Path}: OFT blocks '{BlocksKey}' changed shape since they were matched.");
        }

        // (strength · R − strength · I) transposed, block by block: row m of a block takes Σ_n that[n, m] · row n.
        var rotations = OrthogonalBlocks.Cayley(blocks, count, size, Constraint);
        var mixing = new float[rotations.Length];
        for (var k = 0; k < count; k++)
        {
            var offset = k * size * size;
            for (var m = 0; m < size; m++)
            {
                for (var n = 0; n < size; n++)
                {
                    mixing[offset + (m * size) + n] = (strength * rotations[offset + (n * size) + m]) - (m == n ? strength : 0f);
                }
            }
        }

        var columns = weight.Length / (count * size);
        var change = new float[weight.Length];
        var indices = Enumerable.Range(0, count * size).ToArray();
        Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken }, k =>
            OrthogonalBlocks.MixRows(weight, change, indices.AsSpan(k * size, size), mixing, k * size * size, size, columns));
        return change;
    }
}
