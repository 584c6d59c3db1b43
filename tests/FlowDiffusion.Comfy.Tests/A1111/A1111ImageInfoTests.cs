using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Imaging;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests.A1111;

/// <summary>
/// png-info on JPEG, WebP and GIF files as A1111 1.10 reads them: the EXIF UserComment A1111 writes (piexif's UNICODE
/// code, UTF-16 big-endian text), built here byte by byte from the EXIF/TIFF layout in both TIFF byte orders, a GIF's
/// comment; damaged files are refused naming <c>image</c> and never throw anything else.
/// </summary>
public sealed class A1111ImageInfoTests
{
    private const string Infotext = "a 猫 (cat:1.2), ümlaut\nNegative prompt: blurry\nSteps: 7, Sampler: Euler, CFG scale: 5.5, Seed: 42, Size: 16x8";

    private static readonly ImageLimits Limits = new() { MaxPixels = 1 << 22, MaxDimension = 4096, MaxFileBytes = 1 << 22 };

    [Fact]
    public async Task Png_info_of_a_jpeg_reads_the_unicode_user_comment_A1111_writes_through_the_server()
    {
        await using var host = await ComfyHost.StartAsync();
        var jpeg = Jpeg(Tiff(littleEndian: false, Unicode(Infotext)));
        var (status, info) = await A1111Client.PostAsync(host, "png-info", new JsonObject { ["image"] = "data:image/jpeg;base64," + Convert.ToBase64String(jpeg) });
        Assert.True(status == 200, info.ToJsonString());
        Assert.Equal(Infotext, info["info"]!.GetValue<string>());
        Assert.Equal("a 猫 (cat:1.2), ümlaut", info["parameters"]!["Prompt"]!.GetValue<string>());
        Assert.Equal("42", info["parameters"]!["Seed"]!.GetValue<string>());
        Assert.Equal("Original", info["parameters"]!["Emphasis"]!.GetValue<string>());
        Assert.Empty(info["items"]!.AsObject());

        (status, info) = await A1111Client.PostAsync(host, "png-info", new JsonObject { ["image"] = Convert.ToBase64String(Truncated(jpeg)) });
        Assert.Equal(422, status);
        Assert.Equal("image", info["field"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Jpeg_and_webp_user_comments_are_utf16_big_endian_in_either_tiff_byte_order(bool littleEndian, bool webp)
    {
        var exif = Tiff(littleEndian, Unicode(Infotext));
        var file = webp ? WebP(exif) : Jpeg(exif);
        Assert.Equal(Infotext, Info(file)["info"]!.GetValue<string>());
    }

    [Fact]
    public void The_other_character_codes_and_the_fallback_decode_as_piexif_and_A1111_do()
    {
        // ASCII: a byte over 127 becomes U+FFFD.
        Assert.Equal("Steps: 3\uFFFD", Info(Jpeg(Tiff(false, [.. "ASCII\0\0\0"u8, .. "Steps: 3"u8, 0xE9])))["info"]!.GetValue<string>());
        // JIS: Shift JIS (0x94 0x4C is 猫).
        Assert.Equal("猫", Info(Jpeg(Tiff(true, [.. "JIS\0\0\0\0\0"u8, 0x94, 0x4C])))["info"]!.GetValue<string>());
        // An undefined code: the whole value as UTF-8, its invalid bytes dropped (the zero prefix stays, as A1111's).
        Assert.Equal("\0\0\0\0\0\0\0\0ok", Info(Jpeg(Tiff(false, [.. new byte[8], .. "ok"u8, 0xFF])))["info"]!.GetValue<string>());
        // A short value; an empty one leaves no infotext.
        Assert.Equal("hi", Info(Jpeg(Tiff(true, [.. "hi"u8])))["info"]!.GetValue<string>());
        Assert.Equal("", Info(Jpeg(Tiff(true, [])))["info"]!.GetValue<string>());
        // UTF-16 read little-endian would give other characters: the prefix's text is big-endian.
        Assert.NotEqual("AB", Info(Jpeg(Tiff(true, [.. "UNICODE\0"u8, (byte)'A', 0, (byte)'B', 0])))["info"]!.GetValue<string>());
        Assert.Equal("AB", Info(Jpeg(Tiff(true, [.. "UNICODE\0"u8, 0, (byte)'A', 0, (byte)'B'])))["info"]!.GetValue<string>());
    }

    [Fact]
    public void Without_exif_a_jpeg_comment_or_a_gif_comment_is_the_infotext_and_an_item()
    {
        var jpeg = Jpeg(null, comment: "Steps: 4, Sampler: Euler, Seed: 9");
        var info = Info(jpeg);
        Assert.Equal("Steps: 4, Sampler: Euler, Seed: 9", info["info"]!.GetValue<string>());
        Assert.Equal("9", info["parameters"]!["Seed"]!.GetValue<string>());
        Assert.Equal("Steps: 4, Sampler: Euler, Seed: 9", info["items"]!["comment"]!.GetValue<string>());
        // With EXIF the comment is only an item.
        Assert.Equal(Infotext, Info(Jpeg(Tiff(false, Unicode(Infotext)), comment: "other"))["info"]!.GetValue<string>());

        var gif = Info(Gif("Steps: 2, ", "Sampler: Euler, Seed: 1"));
        Assert.Equal("Steps: 2, \nSampler: Euler, Seed: 1", gif["info"]!.GetValue<string>());
        Assert.Equal("GIF89a", gif["items"]!["version"]!.GetValue<string>());
    }

    [Fact]
    public void Broken_ifds_loops_and_huge_counts_are_refused_naming_image()
    {
        var good = Tiff(false, Unicode(Infotext));
        void Refused(byte[] exif, string message)
        {
            var e = Assert.Throws<A1111RequestException>(() => Info(Jpeg(exif)));
            Assert.Equal((422, "image"), (e.Status, e.Field));
            Assert.Contains(message, e.Message);
        }

        var ifd0Outside = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(ifd0Outside.AsSpan(4), 0xFFFFFFF0);
        Refused(ifd0Outside, "IFD0");
        var hugeCount = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(hugeCount.AsSpan(8), 0xFFFF);
        Refused(hugeCount, "65535 entries");
        var commentTooLong = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(commentTooLong.AsSpan(26 + 2 + 4), 0x7FFFFFFF);
        Refused(commentTooLong, "UserComment");
        // The Exif pointer back at IFD0: read once, no comment, no loop.
        var loop = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(loop.AsSpan(8 + 2 + 8), 8);
        Assert.Equal("", Info(Jpeg(loop))["info"]!.GetValue<string>());
        // Not TIFF at all: piexif cannot load it and A1111 goes on without.
        Assert.Equal("", Info(Jpeg([.. "XX"u8, .. good.AsSpan(2)]))["info"]!.GetValue<string>());
        // A segment past the file's end.
        var e = Assert.Throws<A1111RequestException>(() => Info(Truncated(Jpeg(good))));
        Assert.Equal("image", e.Field);
    }

    [Fact]
    public void Random_damage_to_jpeg_webp_and_gif_files_never_throws_anything_but_a_refusal_naming_image()
    {
        var random = new Random(1234);
        byte[][] files = [Jpeg(Tiff(false, Unicode(Infotext)), "a comment"), Jpeg(Tiff(true, Unicode(Infotext))), WebP(Tiff(true, Unicode(Infotext))), Gif("one", "two")];
        int answered = 0, refused = 0;
        for (var i = 0; i < 4000; i++)
        {
            var file = (byte[])files[i % files.Length].Clone();
            switch (random.Next(3))
            {
                case 0:
                    for (var k = random.Next(1, 8); k > 0; k--) file[random.Next(file.Length)] = (byte)random.Next(256);
                    break;
                case 1:
                    file = file[..random.Next(1, file.Length)];
                    break;
                default:
                    // Damage where the structure is: the first 120 bytes hold the headers, IFDs and counts.
                    for (var k = random.Next(1, 4); k > 0; k--) file[random.Next(Math.Min(120, file.Length))] ^= (byte)(1 << random.Next(8));
                    break;
            }

            try
            {
                Info(file);
                answered++;
            }
            catch (A1111RequestException e)
            {
                Assert.Equal("image", e.Field);
                Assert.Equal(422, e.Status);
                refused++;
            }
        }

        Assert.True(answered > 500 && refused > 500, $"{answered} answered, {refused} refused");
    }

    private static JsonObject Info(byte[] file) =>
        A1111PngInfo.Read(new JsonObject { ["image"] = Convert.ToBase64String(file) }, Limits);

    // "UNICODE\0" and the text as UTF-16 big-endian, as piexif.helper.UserComment.dump(text, encoding="unicode").
    private static byte[] Unicode(string text) => [.. "UNICODE\0"u8, .. Encoding.BigEndianUnicode.GetBytes(text)];

    // A TIFF structure (EXIF 2.3, TIFF 6.0 §2): header; IFD0 at 8 with one entry, the Exif IFD pointer (34665, LONG);
    // the Exif IFD at 26 with one entry, UserComment (37510, UNDEFINED), its value at 44 (inline when 4 bytes or fewer).
    private static byte[] Tiff(bool littleEndian, byte[] comment)
    {
        var data = new byte[44 + comment.Length];
        void U16(int at, int v)
        {
            if (littleEndian) BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(at), (ushort)v);
            else BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(at), (ushort)v);
        }

        void U32(int at, uint v)
        {
            if (littleEndian) BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(at), v);
            else BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(at), v);
        }

        (littleEndian ? "II"u8 : "MM"u8).CopyTo(data);
        U16(2, 42);
        U32(4, 8);
        U16(8, 1);
        U16(10, 0x8769);
        U16(12, 4);
        U32(14, 1);
        U32(18, 26);
        U32(22, 0);
        U16(26, 1);
        U16(28, 0x9286);
        U16(30, 7);
        U32(32, (uint)comment.Length);
        if (comment.Length <= 4) comment.CopyTo(data, 36);
        else U32(36, 44);
        U32(40, 0);
        if (comment.Length > 4) comment.CopyTo(data, 44);
        return comment.Length > 4 ? data : data[..44];
    }

    private static byte[] Encoded(SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(16, 8);
        bitmap.Erase(new SKColor(200, 40, 90));
        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    // SkiaSharp's JPEG with an APP1 "Exif\0\0" segment (and a COM segment) right after SOI.
    private static byte[] Jpeg(byte[]? exif, string? comment = null)
    {
        var jpeg = Encoded(SKEncodedImageFormat.Jpeg);
        var segments = new List<byte>();
        if (exif is not null) segments.AddRange(Segment(0xE1, [.. "Exif\0\0"u8, .. exif]));
        if (comment is not null) segments.AddRange(Segment(0xFE, Encoding.UTF8.GetBytes(comment)));
        return [.. jpeg.AsSpan(0, 2), .. segments, .. jpeg.AsSpan(2)];
    }

    private static byte[] Segment(byte marker, byte[] data)
    {
        var length = data.Length + 2;
        return [0xFF, marker, (byte)(length >> 8), (byte)length, .. data];
    }

    // SkiaSharp's WebP made extended: VP8X (EXIF flag, canvas 16 × 8), its image chunk, an EXIF chunk (as Pillow writes it).
    private static byte[] WebP(byte[] exif)
    {
        var simple = Encoded(SKEncodedImageFormat.Webp);
        byte[] vp8x = [.. "VP8X"u8, 10, 0, 0, 0, 0x08, 0, 0, 0, 15, 0, 0, 7, 0, 0];
        var exifChunk = new List<byte>([.. "EXIF"u8, 0, 0, 0, 0, .. exif]);
        BinaryPrimitives.WriteUInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(exifChunk)[4..], (uint)exif.Length);
        if (exif.Length % 2 == 1) exifChunk.Add(0);
        byte[] body = [.. "WEBP"u8, .. vp8x, .. simple.AsSpan(12), .. exifChunk];
        byte[] riff = [.. "RIFF"u8, 0, 0, 0, 0, .. body];
        BinaryPrimitives.WriteUInt32LittleEndian(riff.AsSpan(4), (uint)body.Length);
        return riff;
    }

    // A 2 × 1 GIF89a (GIF89a spec): a 2-colour global table, the comments as comment extensions, one image, the trailer.
    private static byte[] Gif(params string[] comments)
    {
        var gif = new List<byte>([.. "GIF89a"u8, 2, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        foreach (var comment in comments)
        {
            var text = Encoding.UTF8.GetBytes(comment);
            gif.AddRange([0x21, 0xFE, (byte)text.Length, .. text, 0]);
        }

        gif.AddRange([0x2C, 0, 0, 0, 0, 2, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3B]);
        return [.. gif];
    }

    // The file cut inside its first segment after SOI.
    private static byte[] Truncated(byte[] jpeg) => jpeg[..30];
}
