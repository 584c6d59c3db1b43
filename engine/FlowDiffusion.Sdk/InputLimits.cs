namespace FlowDiffusion.Sdk;

/// <summary>
/// Bounds the host sets on what nodes read from files and parameters, so that no request can exhaust the machine.
/// Nodes that read images check the header against these before decoding; text nodes cap prompt length.
/// </summary>
public sealed record InputLimits
{
    /// <summary>The largest width or height of an image file that may be read (default 16384).</summary>
    public long MaxImageDimension { get; init; } = 16_384;

    /// <summary>The most pixels (width × height) an image file may declare (default 4096² = 16,777,216).</summary>
    public long MaxImagePixels { get; init; } = 4096L * 4096;

    /// <summary>The largest input file (image, mask) that may be read, in bytes (default 64 MiB).</summary>
    public long MaxFileBytes { get; init; } = 64L << 20;

    /// <summary>How long reading one input file may take (default 30 s).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest prompt text, in characters (default 20,000).</summary>
    public int MaxPromptCharacters { get; init; } = 20_000;

    /// <summary>
    /// The longest a node may spend converting a model file into cached ONNX graphs (a .safetensors checkpoint, VAE or
    /// ControlNet on its first load; default 30 minutes). A conversion past it stops and caches nothing.
    /// </summary>
    public TimeSpan MaxConversionTime { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The defaults.</summary>
    public static InputLimits Default { get; } = new();
}
