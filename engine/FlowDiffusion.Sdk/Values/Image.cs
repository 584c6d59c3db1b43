namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// A batch of RGB images: float32 planar [batch, 3, height, width], values in [0, 1]. Immutable: the pixel
/// buffer is never written after construction; copy it (<see cref="ToArray"/>) to make a new image.
/// </summary>
[PortType("IMAGE", "#64b5f6")]
public sealed class Image
{
    private readonly float[] _pixels;

    /// <summary>Wraps a pixel buffer; the image takes ownership, so do not write to it afterwards.</summary>
    /// <param name="batch">Number of images.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="pixels">Planar [batch, 3, height, width] values in [0, 1].</param>
    public Image(int batch, int height, int width, float[] pixels)
    {
        TensorChecks.Positive(batch, nameof(batch));
        TensorChecks.Positive(height, nameof(height));
        TensorChecks.Positive(width, nameof(width));
        TensorChecks.Length(pixels.Length, (long)batch * 3 * height * width, "The image");
        Batch = batch;
        Height = height;
        Width = width;
        _pixels = pixels;
    }

    /// <summary>Number of images.</summary>
    public int Batch { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Planar [batch, 3, height, width] values in [0, 1].</summary>
    public ReadOnlySpan<float> Pixels => _pixels;

    /// <summary>Planar pixels of one image of the batch, [3, height, width].</summary>
    /// <param name="index">The batch index.</param>
    public ReadOnlySpan<float> PixelsOf(int index) => _pixels.AsSpan(index * 3 * Height * Width, 3 * Height * Width);

    /// <summary>
    /// The pixels of image <paramref name="index"/> as read-only memory, for work that spans threads or awaits (a span
    /// cannot be captured); the same values as <see cref="PixelsOf"/>.
    /// </summary>
    /// <param name="index">The batch index.</param>
    public ReadOnlyMemory<float> MemoryOf(int index) => _pixels.AsMemory(index * 3 * Height * Width, 3 * Height * Width);

    /// <summary>A copy of the pixel buffer.</summary>
    public float[] ToArray() => (float[])_pixels.Clone();

    /// <summary>One image of the batch as a batch of one.</summary>
    /// <param name="index">The batch index.</param>
    public Image Item(int index) => new(1, Height, Width, PixelsOf(index).ToArray());
}
