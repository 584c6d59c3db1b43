namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>Checks a caller's float tensor against a declared input and copies it into a pinned tensor of the declared type.</summary>
internal static class Inputs
{
    public static PinnedTensor Pinned(DeclaredTensor declared, ReadOnlySpan<float> values, ReadOnlySpan<int> shape, string modelPath)
    {
        var tensor = new PinnedTensor(declared.ElementType, Dimensions(declared, values, shape, modelPath));
        tensor.Write(values);
        return tensor;
    }

    /// <summary>
    /// Like <see cref="Pinned"/>, but writes into <paramref name="buffer"/> when it has the same type and shape (replacing
    /// it otherwise), so repeated calls of one size touch memory that is already mapped instead of fresh pages.
    /// </summary>
    public static PinnedTensor Reuse(ref PinnedTensor? buffer, DeclaredTensor declared, ReadOnlySpan<float> values, ReadOnlySpan<int> shape, string modelPath)
    {
        var dims = Dimensions(declared, values, shape, modelPath);
        if (buffer is null || !buffer.Fits(declared.ElementType, dims))
        {
            buffer?.Dispose();
            buffer = new PinnedTensor(declared.ElementType, dims);
        }
        buffer.Write(values);
        return buffer;
    }

    private static long[] Dimensions(DeclaredTensor declared, ReadOnlySpan<float> values, ReadOnlySpan<int> shape, string modelPath)
    {
        if (shape.Length != declared.Rank)
        {
            throw new ArgumentException($"'{declared.Name}' of '{modelPath}' is declared as {declared}; a rank-{shape.Length} tensor was given.", nameof(shape));
        }
        long length = 1;
        var dims = new long[shape.Length];
        for (var axis = 0; axis < shape.Length; axis++)
        {
            if (declared.Fixed(axis) is { } size && size != shape[axis])
            {
                throw new ArgumentException($"'{declared.Name}' of '{modelPath}' is declared as {declared}; dimension {axis} was given as {shape[axis]}.", nameof(shape));
            }
            dims[axis] = shape[axis];
            length *= shape[axis];
        }
        if (length != values.Length)
        {
            throw new ArgumentException($"The shape [{string.Join(", ", dims)}] needs {length} values, not {values.Length}.", nameof(values));
        }
        return dims;
    }
}
