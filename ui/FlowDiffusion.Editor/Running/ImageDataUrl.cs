using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Editor.Running;

/// <summary>Images as data: URLs the browser shows without a file: engine images as BMP (no codec needed), files as they are.</summary>
public static class ImageDataUrl
{
    /// <summary>
    /// Item <paramref name="index"/> of <paramref name="image"/> as a 24-bit BMP data URL no larger than
    /// <paramref name="maxSide"/> on a side: the event stream's <see cref="PreviewBitmap"/>, so both show the same bytes.
    /// </summary>
    public static string Of(Image image, int index = 0, int maxSide = int.MaxValue) => PreviewBitmap.DataUrl(image, index, maxSide);

    /// <summary>A PNG or JPEG file as a data URL.</summary>
    public static string OfFile(string path) => OfBytes(File.ReadAllBytes(path), path);

    /// <summary>The bytes of a PNG or JPEG file called <paramref name="fileName"/> (fetched from a server) as a data URL.</summary>
    public static string OfBytes(byte[] bytes, string fileName)
    {
        var type = fileName.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? "image/png" : "image/jpeg";
        return $"data:{type};base64," + Convert.ToBase64String(bytes);
    }
}
