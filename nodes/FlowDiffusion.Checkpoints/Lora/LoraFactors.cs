using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// How a LoRA-family file stores one weight's change: the factors whose product is <c>ΔW</c> and the scale it takes
/// (alpha over the rank the algorithm names; 1 without alpha). Subtypes: <see cref="LowRankFactors"/> (LoRA, LoCon,
/// with LyCORIS's Tucker middle), <see cref="HadamardFactors"/> (LoHa), <see cref="KroneckerFactors"/> (LoKr),
/// <see cref="WholeFactors"/> (diff), and the ones whose change depends on the weight: <see cref="GeneralizedFactors"/>
/// (GLoRA), <see cref="OrthogonalFactors"/> (OFT), <see cref="ButterflyFactors"/> (BOFT); <see cref="ReplacementFactors"/>
/// (set_weight) replaces the weight.
/// </summary>
/// <param name="AlphaKey">The key of alpha, or null when the file has none.</param>
/// <param name="Scale">The factor <c>ΔW</c> is multiplied by.</param>
public abstract record LoraFactors(string? AlphaKey, float Scale)
{
    /// <summary>The algorithm's name, as LyCORIS and ComfyUI call it: <c>lora</c>, <c>loha</c> or <c>lokr</c>.</summary>
    public abstract string Algorithm { get; }

    /// <summary>The file keys of the factors (without alpha).</summary>
    protected abstract IEnumerable<string> FactorKeys { get; }

    /// <summary>The file keys these factors use, alpha included.</summary>
    public IEnumerable<string> Keys => AlphaKey is null ? FactorKeys : FactorKeys.Append(AlphaKey);

    /// <summary>
    /// Computes <c>Scale · ΔW</c> in the weight's layout (row-major, <paramref name="shape"/>) from <paramref name="file"/>,
    /// which must be the file the factors were matched in.
    /// </summary>
    public abstract float[] ReadDelta(SafetensorsFile file, IReadOnlyList<long> shape, CancellationToken cancellationToken = default);

    /// <summary>
    /// Computes the change ComfyUI's adapter makes to <paramref name="weight"/> (the current values, not modified) before the
    /// strength multiplies it: the update is <c>W + strength · change</c>. For most algorithms this is <c>Scale · ΔW</c>,
    /// independent of the weight and the strength; GLoRA's reads the weight, OFT's and BOFT's the strength too.
    /// </summary>
    public virtual float[] ReadDelta(SafetensorsFile file, float[] weight, IReadOnlyList<long> shape, float strength, CancellationToken cancellationToken = default) =>
        ReadDelta(file, shape, cancellationToken);

    /// <summary>
    /// What DoRA's decomposition multiplies the change by before renormalising (ComfyUI's <c>weight_decompose</c> takes the
    /// adapter's alpha): 1 where the change is already scaled; OFT and BOFT pass their raw alpha (the constraint).
    /// </summary>
    public virtual float DoraFactor => 1f;

    /// <summary>The elements of <paramref name="shape"/> after its first axis (a convolution's in · kh · kw).</summary>
    internal static long Columns(IReadOnlyList<long> shape) => shape.Skip(1).Aggregate(1L, (a, b) => a * b);

    /// <summary>Multiplies every value by <see cref="Scale"/> (skipped at 1, so an unscaled product stays bit for bit).</summary>
    protected float[] Scaled(float[] values)
    {
        if (Scale != 1f)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(values, Scale, values);
        }

        return values;
    }
}
