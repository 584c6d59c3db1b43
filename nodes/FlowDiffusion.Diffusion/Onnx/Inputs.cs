namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>Checks a caller's float tensor against a declared input and copies it into a pinned tensor of the declared type.</summary>
internal static class Inputs
{
    public static PinnedTensor Pinned(DeclaredTensor declared, ReadOnlySpan<float> values, ReadOnlySpan<int> shape, string modelPath)
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
        var tensor = new PinnedTensor(declared.ElementType, dims);
        tensor.Write(values);
        return tensor;
    }
}
