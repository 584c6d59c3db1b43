namespace FlowDiffusion.Imaging;

/// <summary>
/// Bounds on the image files a host reads, checked from the header before any decoder runs: a 70-byte PNG may declare
/// 32768×32768 pixels, and a decoder asked for that allocates gigabytes or overflows 32-bit buffer sizes.
/// </summary>
public sealed record ImageLimits
{
    /// <summary>The largest width or height accepted (default 16384).</summary>
    public long MaxDimension { get; init; } = 16_384;

    /// <summary>The most pixels (width × height) accepted (default 4096² = 16,777,216: 64 MiB as RGBA bytes).</summary>
    public long MaxPixels { get; init; } = 4096L * 4096;

    /// <summary>The largest file accepted, in bytes (default 64 MiB).</summary>
    public long MaxFileBytes { get; init; } = 64L << 20;

    /// <summary>How long reading one file may take before it is abandoned (default 30 s).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The defaults.</summary>
    public static ImageLimits Default { get; } = new();
}
