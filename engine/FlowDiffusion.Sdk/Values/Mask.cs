namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// A batch of masks: float32 [batch, 1, height, width] in [0, 1], where 1 (white) marks what is repainted,
/// as in diffusers. Immutable.
/// </summary>
[PortType("MASK", "#81c784")]
public sealed class Mask
{
    private readonly float[] _values;

    /// <summary>Wraps a mask buffer; the mask takes ownership.</summary>
    /// <param name="batch">Number of masks.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="values">[batch, 1, height, width] values in [0, 1].</param>
    public Mask(int batch, int height, int width, float[] values)
    {
        TensorChecks.Positive(batch, nameof(batch));
        TensorChecks.Positive(height, nameof(height));
        TensorChecks.Positive(width, nameof(width));
        TensorChecks.Length(values.Length, (long)batch * height * width, "The mask");
        Batch = batch;
        Height = height;
        Width = width;
        _values = values;
    }

    /// <summary>Number of masks.</summary>
    public int Batch { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>[batch, 1, height, width] values in [0, 1].</summary>
    public ReadOnlySpan<float> Values => _values;

    /// <summary>A copy of the buffer.</summary>
    public float[] ToArray() => (float[])_values.Clone();
}
