namespace FlowDiffusion.Imaging.Tests;

/// <summary>
/// <see cref="ExifText"/> lays text entries out as Pillow does: the expected bytes are Pillow 9.4's
/// <c>Image.Exif()</c> with these four tags set, <c>tobytes()</c> without its <c>Exif\0\0</c> prefix (big-endian, the
/// directory in tag order, "abc" and its zero byte inline, longer values after the directory, each padded to even).
/// </summary>
public sealed class ExifTextTests
{
    private const string Pillow =
        "4d4d002a000000080004010d0002000000050000003e010e00020000000461626300010f00020000000c0000004401100002000000100000005000000000" +
        "616263640000776f726b666c6f773a7b7d0070726f6d70743a7b2231223a20327d00";

    [Fact]
    public void Four_entries_are_pillows_bytes()
    {
        var exif = ExifText.Build(new Dictionary<ushort, string>
        {
            [0x0110] = "prompt:{\"1\": 2}",
            [0x010f] = "workflow:{}",
            [0x010e] = "abc",
            [0x010d] = "abcd",
        });
        Assert.Equal(Pillow, Convert.ToHexStringLower(exif));
    }

    [Fact]
    public void Text_beyond_ascii_is_utf8_counted_in_bytes()
    {
        var exif = ExifText.Build(new Dictionary<ushort, string> { [0x010f] = "é" });
        // One entry: count 3 (two UTF-8 bytes and the zero byte), inline. (Pillow would write '?': its ASCII encoding
        // replaces what ASCII lacks; ComfyUI's JSON text is ASCII, so the two agree on what ComfyUI writes.)
        Assert.Equal("4d4d002a00000008" + "0001" + "010f" + "0002" + "00000003" + "c3a90000" + "00000000", Convert.ToHexStringLower(exif));
    }

    [Fact]
    public void A_tag_twice_or_too_many_entries_are_refused()
    {
        Assert.Throws<ArgumentException>(() => ExifText.Build([new(0x010f, "a"), new(0x010f, "b")]));
        Assert.Throws<ArgumentException>(() => ExifText.Build(Enumerable.Range(0, ExifText.MaxEntries + 1).Select(i => new KeyValuePair<ushort, string>((ushort)i, "x")).ToArray()));
    }
}
