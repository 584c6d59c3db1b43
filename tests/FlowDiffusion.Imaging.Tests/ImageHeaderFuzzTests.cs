using CsCheck;
using FlowDiffusion.Testing;
using SkiaSharp;

namespace FlowDiffusion.Imaging.Tests;

/// <summary>
/// Property-based fuzzing of the header checks and the decoder behind them: random bytes and mutated real files never
/// escape as anything but <see cref="InvalidDataException"/>, and whatever decodes stays within the limits.
/// </summary>
public sealed class ImageHeaderFuzzTests
{
    private static readonly ImageLimits Small = new() { MaxPixels = 256 * 256, MaxDimension = 1024 };

    private static readonly byte[][] Seeds =
    [
        Encoded(SKEncodedImageFormat.Png), Encoded(SKEncodedImageFormat.Jpeg), Encoded(SKEncodedImageFormat.Webp),
        ImageBombs.Png(40, 30), ImageBombs.Jpeg(40, 30), ImageBombs.WebP(40, 30), ImageBombs.Gif(40, 30), ImageBombs.Bmp(40, 30),
    ];

    // A seed file with up to 8 bytes overwritten, and maybe cut short: mostly valid headers with broken fields.
    private static readonly Gen<byte[]> Mutated =
        from seed in Gen.Int[0, Seeds.Length - 1]
        from edits in Gen.Select(Gen.Int[0, 1023], Gen.Byte).Array[0, 8]
        from cut in Gen.Int[0, 4]
        select Mutate(Seeds[seed], edits, cut);

    [Fact]
    public void Fuzz_random_bytes_never_escape_the_header_reader()
    {
        Gen.Byte.Array[0, 64].Sample(bytes =>
        {
            var header = ImageHeader.Read(bytes, out var error);
            Assert.True(header is not null || error is not null);
        }, iter: FuzzIterations.Count(20_000));
    }

    [Fact]
    public void Fuzz_mutated_images_decode_within_the_limits_or_fail_cleanly()
    {
        Mutated.Sample(bytes =>
        {
            try
            {
                using var pixels = RgbaPixels.Decode(bytes, "fuzz", limits: Small);
                Assert.InRange((long)pixels.Width * pixels.Height, 1, Small.MaxPixels);
            }
            catch (InvalidDataException)
            {
                // Refused with a message: the outcome a bad file should have.
            }
        }, iter: FuzzIterations.Count(3_000));
    }

    private static byte[] Mutate(byte[] seed, (int At, byte Value)[] edits, int cut)
    {
        var bytes = seed.ToArray();
        foreach (var (at, value) in edits) bytes[at % bytes.Length] = value;
        return cut == 0 ? bytes : bytes[..Math.Max(0, bytes.Length - cut * bytes.Length / 5)];
    }

    private static byte[] Encoded(SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(24, 16);
        bitmap.Erase(SKColors.CornflowerBlue);
        return bitmap.Encode(format, 80).ToArray();
    }
}
