using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>
/// The ControlNets applied to a conditioning, in the order they were applied: the extra <c>controlnet.control</c>. In a
/// batched call (a guider's negative and positive rows) each entry carries a strength and control-image item per row:
/// rows of a conditioning without the entry get strength 0, so the negative may carry its own ControlNets or none.
/// </summary>
internal sealed class ControlStack
{
    /// <summary>The extra's key.</summary>
    public static readonly ExtraKey<ControlStack> Key = new("controlnet.control", Combine);

    private ControlStack(IReadOnlyList<ControlEntry> entries) => Entries = entries;

    /// <summary>The stack with nothing applied.</summary>
    public static ControlStack Empty { get; } = new([]);

    /// <summary>The entries; per-row values are null on a conditioning's own stack (the hint applies to all its rows).</summary>
    public IReadOnlyList<ControlEntry> Entries { get; }

    /// <summary>This stack with <paramref name="hint"/> added last.</summary>
    public ControlStack Then(ControlHint hint) => new([.. Entries, new ControlEntry(hint, null, null)]);

    private static ControlStack Combine(IReadOnlyList<ExtraPart<ControlStack>> parts)
    {
        var total = parts.Sum(p => p.Rows);
        var combined = new List<ControlEntry>();
        // Equal hints (the same net, image and settings on the negative and the positive) share one entry; an equal hint twice
        // on one conditioning adds its strength, as running it twice would add its residuals twice.
        var index = new Dictionary<ControlHint, ControlEntry>();
        var offset = 0;
        foreach (var (stack, rows) in parts)
        {
            foreach (var entry in stack?.Entries ?? [])
            {
                if (!index.TryGetValue(entry.Hint, out var target))
                {
                    target = new ControlEntry(entry.Hint, new float[total], new int[total]);
                    index[entry.Hint] = target;
                    combined.Add(target);
                }

                for (var r = 0; r < rows; r++)
                {
                    target.RowStrengths![offset + r] += entry.StrengthOf(r);
                    target.RowImages![offset + r] = entry.ImageOf(r, rows);
                }
            }

            offset += rows;
        }

        return new ControlStack(combined);
    }
}

/// <summary>One applied ControlNet, with per-row strengths and control-image items once batched.</summary>
internal sealed record ControlEntry(ControlHint Hint, float[]? RowStrengths, int[]? RowImages)
{
    /// <summary>The strength for row <paramref name="row"/>.</summary>
    public float StrengthOf(int row) => RowStrengths?[row] ?? Hint.Strength;

    /// <summary>The control-image item for row <paramref name="row"/> of a call of <paramref name="rows"/> rows.</summary>
    public int ImageOf(int row, int rows)
    {
        if (RowImages is not null)
        {
            return RowImages[row];
        }

        var batch = Hint.Image.Batch;
        return batch == 1 ? 0 : batch == rows ? row
            : throw new ArgumentException($"the control image has batch {batch}; give one image or one per latent ({rows})");
    }
}
