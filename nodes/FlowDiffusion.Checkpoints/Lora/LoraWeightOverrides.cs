using System.Buffers.Binary;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// A matched LoRA's modules as weight overrides: <c>W + strength · scale · ΔW</c> (DoRA: renormalised), read from the file when a
/// session is created; the override's identity is the file (path, size, time), the module and the strength.
/// </summary>
public static class LoraWeightOverrides
{
    /// <summary>The weights a handle declares, by name, for matching.</summary>
    public static Dictionary<string, IReadOnlyList<long>> Shapes(IReadOnlyList<WeightInfo> weights) =>
        weights.Where(w => w.ElementType is not null).ToDictionary(w => w.Name, w => w.Shape, StringComparer.Ordinal);

    /// <summary>One override per module of <paramref name="network"/> in <paramref name="match"/>; none at strength 0.</summary>
    public static IEnumerable<WeightOverride> For(LoraMatch match, LoraNetwork network, float strength) =>
        strength == 0f ? [] : match.For(network).Select(module => Override(match, module, strength));

    /// <summary>
    /// The <c>set_weight</c> modules of <paramref name="network"/> alone: what a network at strength 0 takes in ComfyUI
    /// when the LoRA is applied at all (its "set" patch replaces the weight whatever the strength).
    /// </summary>
    public static IEnumerable<WeightOverride> Replacements(LoraMatch match, LoraNetwork network) =>
        match.For(network).Where(m => m.Factors is ReplacementFactors).Select(module => Override(match, module, 1f));

    private static WeightOverride Override(LoraMatch match, LoraModule module, float strength) => new FileWeightOverride(
        module.Weight,
        match.Path,
        $"lora/{module.Module}",
        strength,
        (self, current, cancellationToken) => Apply(self, module, current, cancellationToken));

    private static WeightTensor Apply(FileWeightOverride self, LoraModule module, Func<WeightTensor> current, CancellationToken cancellationToken)
    {
        var value = current();
        var values = value.ToFloats();
        using (var file = SafetensorsFile.Open(self.FilePath))
        {
            module.ApplyTo(file, values, self.Strength, cancellationToken);
        }

        return Of(values, value.ElementType, value.Shape);
    }

    /// <summary>Float32 values as a weight of element type <paramref name="type"/> (float16 and bfloat16 round to nearest even).</summary>
    public static WeightTensor Of(float[] values, WeightElementType type, IReadOnlyList<long> shape)
    {
        if (type == WeightElementType.Float32)
        {
            return WeightTensor.FromFloats(values, [.. shape]);
        }

        var data = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            if (type == WeightElementType.Float16)
            {
                BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(i * 2), (Half)values[i]);
            }
            else
            {
                // bfloat16: round the float32 bits to nearest even on the upper 16.
                var bits = BitConverter.SingleToUInt32Bits(values[i]);
                bits += 0x7FFFu + ((bits >> 16) & 1u);
                BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(i * 2), (ushort)(bits >> 16));
            }
        }

        return new WeightTensor(type, shape, data);
    }
}
