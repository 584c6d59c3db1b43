namespace FlowDiffusion.Imaging;

/// <summary>What an image file's header declares, read without decoding any pixels.</summary>
/// <param name="Format">The file format.</param>
/// <param name="Width">The declared width in pixels (up to 2³²−1: a header may declare anything).</param>
/// <param name="Height">The declared height in pixels.</param>
public sealed record ImageHeaderInfo(ImageFormat Format, long Width, long Height)
{
    /// <summary>Width × height, computed in 64 bits.</summary>
    public long Pixels => Width * Height;

    /// <summary>The file extension for the format, with its dot (".png").</summary>
    public string Extension => Format switch
    {
        ImageFormat.Png => ".png",
        ImageFormat.Jpeg => ".jpg",
        ImageFormat.WebP => ".webp",
        ImageFormat.Gif => ".gif",
        _ => ".bmp",
    };
}
