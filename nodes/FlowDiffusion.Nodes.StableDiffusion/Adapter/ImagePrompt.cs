using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Control;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Adapter;

/// <summary>
/// An IP-Adapter image prompt on a conditioning: the extra <c>ipadapter.image_prompt</c>. A conditioning's own carries one
/// row for all its rows: the image's decoupled keys and values, the per-layer scales and the fraction of the schedule it acts in. In
/// a batched call (a guider's negative and positive rows) each row has its own; rows of a conditioning without an image
/// prompt get the adapter's tokens of zero image embeddings at the same scales and window — the unconditional image prompt
/// diffusers and ComfyUI give the negative — so applying it to the positive alone behaves as they do.
/// </summary>
internal sealed class ImagePrompt
{
    /// <summary>The extra's key.</summary>
    public static readonly ExtraKey<ImagePrompt> Key = new("ipadapter.image_prompt", Combine);

    private readonly IReadOnlyList<ImagePromptRow> _rows;

    private ImagePrompt(IReadOnlyList<ImagePromptRow> rows, ImagePromptRow unconditional)
    {
        _rows = rows;
        Unconditional = unconditional;
    }

    /// <summary>What a row without an image prompt of its own gets in a batched call.</summary>
    public ImagePromptRow Unconditional { get; }

    /// <summary>An image prompt for every row of a conditioning.</summary>
    public static ImagePrompt Of(ImagePromptRow image, ImagePromptRow unconditional) => new([image], unconditional);

    /// <summary>Row <paramref name="row"/>'s image prompt (a conditioning's own applies to all its rows).</summary>
    public ImagePromptRow RowOf(int row) => _rows.Count == 1 ? _rows[0] : _rows[row];

    /// <summary>Whether some row's prompt acts at <paramref name="timestep"/> (a non-zero scale, the timestep in its window).</summary>
    public bool ActsAt(float timestep, int rows) => Enumerable.Range(0, rows).Any(r => Acts(RowOf(r), timestep) && RowOf(r).Scales.Any(s => s != 0));

    /// <summary>The scales [rows, layers] at <paramref name="timestep"/>: a row's scale per layer while it acts, else 0.</summary>
    public float[] Scales(float timestep, int rows, int layers)
    {
        var scales = new float[rows * layers];
        for (var r = 0; r < rows; r++)
        {
            var row = RowOf(r);
            if (Acts(row, timestep))
            {
                row.Scales.AsSpan(0, Math.Min(layers, row.Scales.Length)).CopyTo(scales.AsSpan(r * layers));
            }
        }

        return scales;
    }

    private static bool Acts(ImagePromptRow row, float timestep) => ScheduleWindow.Contains(row.Start, row.End, timestep);

    private static ImagePrompt Combine(IReadOnlyList<ExtraPart<ImagePrompt>> parts)
    {
        var unconditional = parts.First(p => p.Value is not null).Value!.Unconditional;
        var rows = new List<ImagePromptRow>();
        foreach (var (prompt, count) in parts)
        {
            if (prompt is not null && prompt._rows.Count != 1 && prompt._rows.Count != count)
            {
                throw new ArgumentException($"an image prompt of {prompt._rows.Count} rows cannot fill {count} rows");
            }

            for (var r = 0; r < count; r++)
            {
                rows.Add(prompt?.RowOf(r) ?? unconditional);
            }
        }

        return new ImagePrompt(rows, unconditional);
    }
}

/// <summary>
/// One row's image prompt: the decoupled keys and values, the scale of each layer's image attention (the weight, per
/// layer for the pack's weight types), and the schedule window (0 = the first, noisiest step).
/// </summary>
internal sealed record ImagePromptRow(IpKeysValues Attention, float[] Scales, float Start, float End);
