namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>A model output converted to float32, with its shape (row-major).</summary>
/// <param name="Values">The elements in row-major order.</param>
/// <param name="Shape">The dimensions, outermost first.</param>
public sealed record FloatTensor(float[] Values, int[] Shape)
{
    /// <inheritdoc />
    public override string ToString() => $"float32 [{string.Join(", ", Shape)}]";
}
