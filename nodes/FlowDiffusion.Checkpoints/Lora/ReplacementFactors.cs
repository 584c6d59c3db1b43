using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// A weight replaced whole (<c>set_weight</c>), as ComfyUI's "set" patch copies it: the tensor becomes the weight at any
/// strength, and replaces any other update of that weight in the module.
/// </summary>
/// <param name="Key">The key of the tensor.</param>
public sealed record ReplacementFactors(string Key) : LoraFactors(null, 1f)
{
    /// <inheritdoc />
    public override string Algorithm => "set";

    /// <inheritdoc />
    protected override IEnumerable<string> FactorKeys => [Key];

    /// <summary>Not available: set_weight replaces the weight rather than changing it; see <see cref="ReadValues"/>.</summary>
    public override float[] ReadDelta(SafetensorsFile file, IReadOnlyList<long> shape, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("set_weight replaces the weight: read its values instead.");

    /// <summary>The new weight's values, in the weight's layout.</summary>
    public float[] ReadValues(SafetensorsFile file, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(shape);
        var values = file.ReadFloat32(Key);
        if (values.Length != shape.Aggregate(1L, (a, b) => a * b))
        {
            throw new CheckpointException($"{file.Path}: '{Key}' changed shape since it was matched.");
        }

        return values;
    }
}
