using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// A whole-weight change stored as is — LyCORIS's <c>diff</c> (the full algorithm), <c>diff_b</c> (a bias) and
/// <c>w_norm</c>/<c>b_norm</c> (norm layers): <c>ΔW</c> is the tensor, at scale 1, as ComfyUI's "diff" patches add it.
/// </summary>
/// <param name="Key">The key of the tensor.</param>
public sealed record WholeFactors(string Key) : LoraFactors(null, 1f)
{
    /// <inheritdoc />
    public override string Algorithm => "diff";

    /// <inheritdoc />
    protected override IEnumerable<string> FactorKeys => [Key];

    /// <inheritdoc />
    public override float[] ReadDelta(SafetensorsFile file, IReadOnlyList<long> shape, CancellationToken cancellationToken = default)
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
