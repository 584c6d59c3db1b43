using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// LoRA and LoCon: <c>ΔW = up · down</c>, with a convolution's kernel flattened (<c>down</c> [rank, in·kh·kw], <c>up</c>
/// [out, rank]) so linear, 1×1 and 3×3 layers take the same product. With LyCORIS's Tucker middle (<c>lora_mid</c>
/// [rank, rank, kh, kw] between a 1×1 <c>down</c> [rank, in] and <c>up</c> [out, rank]) the kernel is
/// <c>ΔW[o, i, y, x] = Σ_a Σ_b up[o, a] · mid[a, b, y, x] · down[b, i]</c>. Scale: alpha / rank (the rows of down).
/// </summary>
/// <param name="UpKey">The key of the up (B) matrix.</param>
/// <param name="DownKey">The key of the down (A) matrix.</param>
/// <param name="MidKey">The key of the Tucker middle, or null.</param>
/// <param name="AlphaKey">The key of alpha, or null.</param>
/// <param name="Rank">The rank (rows of down).</param>
/// <param name="Scale">alpha / rank, 1 without alpha.</param>
public sealed record LowRankFactors(string UpKey, string DownKey, string? MidKey, string? AlphaKey, int Rank, float Scale) : LoraFactors(AlphaKey, Scale)
{
    /// <inheritdoc />
    public override string Algorithm => "lora";

    /// <inheritdoc />
    protected override IEnumerable<string> FactorKeys => MidKey is null ? [UpKey, DownKey] : [UpKey, MidKey, DownKey];

    /// <inheritdoc />
    public override float[] ReadDelta(SafetensorsFile file, IReadOnlyList<long> shape, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(shape);
        var up = file.ReadFloat32(UpKey);
        var down = file.ReadFloat32(DownKey);
        var rows = (int)shape[0];
        var columns = checked((int)Columns(shape));
        if (MidKey is null)
        {
            if (up.Length != rows * Rank || down.Length != Rank * columns)
            {
                throw new CheckpointException($"{file.Path}: LoRA factors '{UpKey}' changed shape since they were matched.");
            }

            return Scaled(LowRank.Product(up, down, rows, Rank, columns, cancellationToken));
        }

        // Tucker: mid [rank, rank, kh, kw] between down [rank, in] and up [out, rank].
        var mid = file.ReadFloat32(MidKey);
        var input = (int)shape[1];
        var kernel = columns / input;
        if (up.Length != rows * Rank || down.Length != Rank * input || mid.Length != Rank * Rank * kernel)
        {
            throw new CheckpointException($"{file.Path}: LoCon factors '{MidKey}' changed shape since they were matched.");
        }

        return Scaled(LowRank.Tucker(mid, LowRank.Transpose(up, rows, Rank), down, Rank, Rank, rows, input, kernel, cancellationToken));
    }
}
