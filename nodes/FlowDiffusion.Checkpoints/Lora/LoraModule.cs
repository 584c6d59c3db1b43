using System.Numerics.Tensors;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// One low-rank update matched to one weight of the model: <c>ΔW = scale · up · down</c>, with a convolution's
/// kernel flattened (<c>down</c> [rank, in·kh·kw], <c>up</c> [out, rank]) so linear, 1×1 and 3×3 (LoCon) layers take
/// the same product. <c>scale</c> is alpha / rank (1 when the file has no alpha).
/// </summary>
/// <param name="Network">The network the weight belongs to.</param>
/// <param name="Weight">The model's initializer name (diffusers name, e.g. <c>mid_block.attentions.0.proj_in.weight</c>).</param>
/// <param name="Module">The module's key stem in the file (e.g. <c>lora_unet_mid_block_attentions_0_proj_in</c>).</param>
/// <param name="UpKey">The key of the up (B) matrix.</param>
/// <param name="DownKey">The key of the down (A) matrix.</param>
/// <param name="AlphaKey">The key of alpha, or null when the file has none.</param>
/// <param name="Rank">The rank (rows of down).</param>
/// <param name="Scale">alpha / rank.</param>
/// <param name="Shape">The weight's shape in the model.</param>
public sealed record LoraModule(
    LoraNetwork Network, string Weight, string Module, string UpKey, string DownKey, string? AlphaKey, int Rank, float Scale, IReadOnlyList<long> Shape)
{
    /// <summary>The file keys this module uses.</summary>
    public IEnumerable<string> Keys => AlphaKey is null ? [UpKey, DownKey] : [UpKey, DownKey, AlphaKey];

    /// <summary>
    /// Computes <c>scale · up · down</c> in the weight's layout (row-major, <see cref="Shape"/>) from
    /// <paramref name="file"/>, which must be the file the module was matched in.
    /// </summary>
    public float[] ReadDelta(SafetensorsFile file, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        var up = file.ReadFloat32(UpKey);
        var down = file.ReadFloat32(DownKey);
        var rows = (int)Shape[0];
        var columns = down.Length / Rank;
        if (up.Length != rows * Rank || columns * rows != Shape.Aggregate(1L, (a, b) => a * b))
        {
            throw new CheckpointException($"{file.Path}: LoRA module '{Module}' changed shape since it was matched to '{Weight}'.");
        }

        var delta = new float[rows * columns];
        for (var o = 0; o < rows; o++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = delta.AsSpan(o * columns, columns);
            for (var r = 0; r < Rank; r++)
            {
                var coefficient = up[(o * Rank) + r] * Scale;
                if (coefficient != 0f)
                {
                    TensorPrimitives.MultiplyAdd(down.AsSpan(r * columns, columns), coefficient, row, row);
                }
            }
        }

        return delta;
    }
}
