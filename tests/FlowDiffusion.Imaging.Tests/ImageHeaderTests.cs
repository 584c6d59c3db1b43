using SkiaSharp;

namespace FlowDiffusion.Imaging.Tests;

/// <summary>Header checks: the declared size of every accepted format is read exactly, and bombs are refused before decoding.</summary>
public sealed class ImageHeaderTests
{
    public static TheoryData<string, byte[], long, long> Declared => new()
    {
        { "png 32768²", ImageBombs.Png(32768, 32768), 32768, 32768 },
        { "png 2³²−1 wide", ImageBombs.Png(uint.MaxValue, 1), uint.MaxValue, 1 },
        { "jpeg 65535²", ImageBombs.Jpeg(65535, 65535), 65535, 65535 },
        { "webp 2²⁴ × 1000", ImageBombs.WebP(1 << 24, 1000), 1 << 24, 1000 },
        { "gif 65535 × 20000", ImageBombs.Gif(65535, 20000), 65535, 20000 },
        { "bmp 50000 × top-down 40000", ImageBombs.Bmp(50000, -40000), 50000, 40000 },
    };

    [Theory]
    [MemberData(nameof(Declared))]
    public void Declared_size_is_read_from_the_header_and_checked_against_the_limits(string kind, byte[] file, long width, long height)
    {
        var header = ImageHeader.Read(file, out var error);

        Assert.True(header is not null, $"{kind}: {error}");
        Assert.Equal((width, height), (header.Width, header.Height));
        var refusal = ImageHeader.Check(header, ImageLimits.Default);
        Assert.NotNull(refusal);
        Assert.Contains("FlowDiffusion:MaxImage", refusal);
    }

    [Fact]
    public void A_70_byte_png_declaring_32768_squared_is_refused_before_skia_decodes_it()
    {
        var bomb = ImageBombs.Png(32768, 32768);
        Assert.InRange(bomb.Length, 60, 80);

        var e = Assert.Throws<InvalidDataException>(() => RgbaPixels.Decode(bomb, "bomb.png"));

        Assert.Contains("'bomb.png' declares 32768×32768", e.Message);
        Assert.Contains("FlowDiffusion:MaxImage", e.Message);
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png, ImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Jpeg, ImageFormat.Jpeg)]
    [InlineData(SKEncodedImageFormat.Webp, ImageFormat.WebP)]
    public void Real_encoded_images_report_their_size_and_decode(SKEncodedImageFormat encoding, ImageFormat format)
    {
        using var bitmap = new SKBitmap(37, 21);
        bitmap.Erase(new SKColor(10, 200, 30));
        var file = bitmap.Encode(encoding, 90).ToArray();

        var header = ImageHeader.Read(file, out var error);
        using var pixels = RgbaPixels.Decode(file, "real");

        Assert.Equal((format, 37L, 21L), (header!.Format, header.Width, header.Height));
        Assert.Null(error);
        Assert.Equal((37, 21), (pixels.Width, pixels.Height));
        Assert.InRange(pixels.Bytes[1], 190, 210);
    }

    [Fact]
    public void A_small_bmp_within_the_limits_decodes_to_its_declared_size()
    {
        var file = ImageBombs.Bmp(2, 2);
        Array.Resize(ref file, 54 + 16); // two rows of 2 × 3 bytes, each padded to 8
        file[54 + 2] = 255; // first pixel red (BGR), bottom row

        using var pixels = RgbaPixels.Decode(file, "small.bmp");

        Assert.Equal((2, 2), (pixels.Width, pixels.Height));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF })]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0 })]
    [InlineData(new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F', 0, 0, 0, 0, (byte)'W', (byte)'E', (byte)'B', (byte)'P' })]
    [InlineData(new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'9', (byte)'a' })]
    [InlineData(new byte[] { (byte)'<', (byte)'s', (byte)'v', (byte)'g' })]
    public void Truncated_or_unknown_headers_are_refused_with_a_reason(byte[] file)
    {
        Assert.Null(ImageHeader.Read(file, out var error));
        Assert.False(string.IsNullOrEmpty(error));
        Assert.Throws<InvalidDataException>(() => RgbaPixels.Decode(file, "x").Dispose());
    }

    [Fact]
    public void Pixel_limit_is_configurable()
    {
        var header = ImageHeader.Read(ImageBombs.Png(100, 100), out _)!;

        Assert.Null(ImageHeader.Check(header, ImageLimits.Default));
        Assert.Contains("10,000 pixels", ImageHeader.Check(header, new ImageLimits { MaxPixels = 9_999 }));
    }
}
