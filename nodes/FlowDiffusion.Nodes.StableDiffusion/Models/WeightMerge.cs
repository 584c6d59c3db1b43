using System.Globalization;
using System.Numerics.Tensors;
using FlowDiffusion.Checkpoints.Lora;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// One weight of a merge, ComfyUI's <c>add_patches(model2's key patches, strength_patch, strength_model)</c>: the current
/// value (model1's, with the overrides before this one) times <see cref="ModelStrength"/>, plus model2's value (with its own
/// overrides) times <see cref="PatchStrength"/>, computed in float32 and stored in the current value's type. Model2's value
/// is read only when the session is created, one weight at a time.
/// </summary>
internal sealed class WeightMerge : WeightOverride
{
    private readonly Func<CancellationToken, WeightTensor> _other;

    /// <param name="name">The weight, named alike in both models.</param>
    /// <param name="modelStrength">What the current value is multiplied by (ComfyUI's strength_model).</param>
    /// <param name="patchStrength">What model2's value is multiplied by before it is added (strength_patch).</param>
    /// <param name="other">Reads model2's value of the weight.</param>
    /// <param name="otherIdentity">What determines model2's weights (file and overrides), for the session cache.</param>
    public WeightMerge(string name, float modelStrength, float patchStrength, Func<CancellationToken, WeightTensor> other, string otherIdentity)
        : base(name)
    {
        ModelStrength = modelStrength;
        PatchStrength = patchStrength;
        _other = other;
        Identity = string.Create(CultureInfo.InvariantCulture, $"merge:{modelStrength:R}:{patchStrength:R}:{otherIdentity}");
    }

    /// <summary>
    /// ComfyUI's <c>add_patches({key: (None,)}, 0.0, factor)</c> (its attention multipliers): the current value times
    /// <paramref name="factor"/>, nothing added.
    /// </summary>
    public static WeightMerge Scale(string name, float factor) =>
        new(name, factor, 0f, _ => throw new InvalidOperationException($"weight '{name}': a scale reads no second model"), "none");

    public float ModelStrength { get; }

    public float PatchStrength { get; }

    public override string Identity { get; }

    public override WeightTensor Apply(Func<WeightTensor> current, CancellationToken cancellationToken)
    {
        var value = current();
        if (ModelStrength == 1f && PatchStrength == 0f) return value;
        var values = value.ToFloats();
        // As ComfyUI's calculate_weight: weight *= strength_model, then weight += strength_patch · patch, each rounded to float32.
        if (ModelStrength != 1f) TensorPrimitives.Multiply(values, ModelStrength, values);
        if (PatchStrength != 0f)
        {
            var other = _other(cancellationToken);
            if (!other.Shape.SequenceEqual(value.Shape))
            {
                throw new InvalidOperationException($"weight '{Name}' is {value} in model1 but {other} in model2; models of different architectures cannot be merged");
            }
            var patch = other.ToFloats();
            TensorPrimitives.Multiply(patch, PatchStrength, patch);
            TensorPrimitives.Add(values, patch, values);
        }
        return LoraWeightOverrides.Of(values, value.ElementType, value.Shape);
    }
}
