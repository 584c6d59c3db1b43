namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// A batch-first float32 tensor carried as an extra: pooled text embeddings [B, 1280], time ids [B, 6], a control
/// image [B, 3, H, W], concat latents [B, 5, h, w], <c>timestep_cond</c> [B, 256], image embeddings [B, n, D], region
/// masks [B, 1, h, w]. Batch 1 means the same value for every row. Immutable.
/// </summary>
public sealed class ExtraTensor
{
    private readonly float[] _values;
    private readonly int[] _shape;

    /// <summary>Wraps a buffer; the tensor takes ownership.</summary>
    /// <param name="shape">The shape, batch first; every dimension positive.</param>
    /// <param name="values">The values in row-major order.</param>
    public ExtraTensor(IReadOnlyList<int> shape, float[] values)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(values);
        if (shape.Count == 0) throw new ArgumentException("An extra tensor needs at least the batch dimension.", nameof(shape));
        long length = 1;
        for (var i = 0; i < shape.Count; i++)
        {
            TensorChecks.Positive(shape[i], $"{nameof(shape)}[{i}]");
            length *= shape[i];
        }
        TensorChecks.Length(values.Length, length, "The extra tensor");
        _shape = [.. shape];
        _values = values;
    }

    /// <summary>The shape, batch first.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>The batch size (the first dimension); 1 applies to every row.</summary>
    public int Batch => _shape[0];

    /// <summary>Elements per batch item.</summary>
    public int ItemLength => _values.Length / Batch;

    /// <summary>All values, row-major.</summary>
    public ReadOnlySpan<float> Values => _values;

    /// <summary>
    /// The values for row <paramref name="row"/> of a call: the row's own item, or the only item of a batch-1 tensor.
    /// </summary>
    /// <param name="row">The batch row.</param>
    public ReadOnlySpan<float> ItemOf(int row)
    {
        var index = Batch == 1 ? 0 : row;
        if ((uint)index >= (uint)Batch)
            throw new ArgumentOutOfRangeException(nameof(row), row, $"The extra tensor has batch {Batch}.");
        return _values.AsSpan(index * ItemLength, ItemLength);
    }

    /// <summary>
    /// The tensor batching rule (<see cref="ExtraKey.Tensor(string)"/>): concatenates the parts along the batch, a
    /// batch-1 part repeated for each of its rows, a batch-n part filling n rows. Every part must carry the tensor and
    /// the item shapes must agree.
    /// </summary>
    /// <param name="parts">The parts, in row order.</param>
    public static ExtraTensor Concat(IReadOnlyList<ExtraPart<ExtraTensor>> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("Nothing to concatenate.", nameof(parts));
        var first = parts.FirstOrDefault(p => p.Value is not null).Value
            ?? throw new ArgumentException("No part carries the tensor.", nameof(parts));
        var rows = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            var (value, count) = parts[i];
            if (value is null)
                throw new ArgumentException($"conditioning {i + 1} of {parts.Count} in this batched call lacks a tensor extra the others carry; add it to every conditioning (the negative too)");
            if (!value._shape.AsSpan(1).SequenceEqual(first._shape.AsSpan(1)))
                throw new ArgumentException($"the tensor extras of one batched call have different item shapes: [{string.Join(", ", value._shape)}] and [{string.Join(", ", first._shape)}]");
            if (value.Batch != 1 && value.Batch != count)
                throw new ArgumentException($"a tensor extra of batch {value.Batch} cannot fill {count} rows; give it batch 1 or {count}");
            rows += count;
        }
        var item = first.ItemLength;
        var result = new float[(long)rows * item];
        var offset = 0;
        foreach (var (value, count) in parts)
        {
            for (var r = 0; r < count; r++, offset += item) value!.ItemOf(r).CopyTo(result.AsSpan(offset, item));
        }
        return new ExtraTensor([rows, .. first._shape.AsSpan(1)], result);
    }

    /// <summary>A copy of the buffer.</summary>
    public float[] ToArray() => (float[])_values.Clone();

    /// <inheritdoc />
    public override string ToString() => $"[{string.Join(", ", _shape)}]";
}
