namespace FlowDiffusion.Imaging;

/// <summary>The image file formats hosts accept, recognised by content, never by name.</summary>
public enum ImageFormat
{
    /// <summary>Portable Network Graphics.</summary>
    Png,

    /// <summary>JPEG (JFIF or EXIF), baseline or progressive.</summary>
    Jpeg,

    /// <summary>WebP, lossy (VP8), lossless (VP8L) or extended (VP8X).</summary>
    WebP,

    /// <summary>GIF 87a or 89a (the first frame is read).</summary>
    Gif,

    /// <summary>Windows bitmap.</summary>
    Bmp,
}
