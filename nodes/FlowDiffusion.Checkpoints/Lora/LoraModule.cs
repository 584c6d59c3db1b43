using System.Numerics.Tensors;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// One LoRA-family update matched to one weight of the model: <see cref="Factors"/> give <c>scale · ΔW</c>, added at a
/// strength, or — with a DoRA magnitude (<see cref="DoraScaleKey"/>) — renormalised as <see cref="DoraScaling"/> says.
/// </summary>
/// <param name="Network">The network the weight belongs to.</param>
/// <param name="Weight">The model's initializer name (diffusers name, e.g. <c>mid_block.attentions.0.proj_in.weight</c>).</param>
/// <param name="Module">The module's key stem in the file (e.g. <c>lora_unet_mid_block_attentions_0_proj_in</c>).</param>
/// <param name="Factors">How the file stores the change (LoRA/LoCon, LoHa, LoKr, GLoRA, OFT, BOFT, diff, set_weight).</param>
/// <param name="Shape">The weight's shape in the model.</param>
public sealed record LoraModule(LoraNetwork Network, string Weight, string Module, LoraFactors Factors, IReadOnlyList<long> Shape)
{
    /// <summary>The key of DoRA's magnitudes (<c>dora_scale</c>), or null for a plain update.</summary>
    public string? DoraScaleKey { get; init; }

    /// <summary>Whether the DoRA magnitudes are one per output row (else one per input column).</summary>
    public bool DoraOnOutputAxis { get; init; }

    /// <summary>The file keys this module uses.</summary>
    public IEnumerable<string> Keys => DoraScaleKey is null ? Factors.Keys : Factors.Keys.Append(DoraScaleKey);

    /// <summary>The scale the factors' product takes (alpha over the algorithm's rank; 1 without alpha).</summary>
    public float Scale => Factors.Scale;

    /// <summary>
    /// Computes <c>scale · ΔW</c> in the weight's layout from <paramref name="file"/>, the file the module was matched in
    /// (for algorithms whose change does not depend on the weight; GLoRA, OFT, BOFT and set_weight go through <see cref="ApplyTo"/>).
    /// </summary>
    public float[] ReadDelta(SafetensorsFile file, CancellationToken cancellationToken = default) => Factors.ReadDelta(file, Shape, cancellationToken);

    /// <summary>
    /// Updates <paramref name="weight"/> (the model's current values, row-major <see cref="Shape"/>) in place at
    /// <paramref name="strength"/>: <c>W + strength · change</c> (<see cref="LoraFactors.ReadDelta(SafetensorsFile, float[], IReadOnlyList{long}, float, CancellationToken)"/>),
    /// DoRA's renormalised weight mixed in at the strength, or — for <c>set_weight</c> — the stored tensor at any strength.
    /// </summary>
    public void ApplyTo(SafetensorsFile file, float[] weight, float strength, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(weight);
        if (Factors is ReplacementFactors replacement)
        {
            replacement.ReadValues(file, Shape).CopyTo(weight, 0);
            return;
        }

        var delta = Factors.ReadDelta(file, weight, Shape, strength, cancellationToken);
        if (delta.Length != weight.Length)
        {
            throw new InvalidOperationException($"{file.Path}: LoRA module '{Module}' has {delta.Length} values but weight '{Weight}' has {weight.Length}.");
        }

        if (DoraScaleKey is null)
        {
            TensorPrimitives.MultiplyAdd(delta, strength, weight, weight);
            return;
        }

        if (Factors.DoraFactor != 1f)
        {
            TensorPrimitives.Multiply(delta, Factors.DoraFactor, delta);
        }

        DoraScaling.Apply(weight, delta, file.ReadFloat32(DoraScaleKey), DoraOnOutputAxis, Shape, strength);
    }
}
