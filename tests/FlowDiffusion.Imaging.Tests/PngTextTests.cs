using System.Text;

namespace FlowDiffusion.Imaging.Tests;

/// <summary>
/// <see cref="PngEncoder.WriteText"/> chooses the chunk as Pillow's <c>PngInfo.add_text</c>: tEXt when the text is
/// Latin-1 (ü as the single byte 0xFC), iTXt with UTF-8 text otherwise; keywords PNG cannot hold are refused.
/// </summary>
public sealed class PngTextTests
{
    [Theory]
    [InlineData("über", "tEXt", "6b6579" + "00" + "fc626572")]
    [InlineData("π", "iTXt", "6b6579" + "00" + "00" + "00" + "00" + "00" + "cf80")]
    public void Latin1_text_is_tEXt_and_other_text_iTXt(string text, string type, string data)
    {
        using var output = new MemoryStream();
        PngEncoder.WriteText(output, "key", text);
        var chunk = output.ToArray();
        Assert.Equal(type, Encoding.ASCII.GetString(chunk, 4, 4));
        Assert.Equal(data, Convert.ToHexStringLower(chunk.AsSpan(8, chunk.Length - 12)));
        Assert.Equal(chunk.Length - 12, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(chunk));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\u0000b")]
    [InlineData("tab\there")]
    [InlineData("ключ")]
    public void Keywords_png_cannot_hold_are_refused(string keyword)
    {
        Assert.False(PngEncoder.IsTextKeyword(keyword));
        Assert.Throws<ArgumentException>(() => PngEncoder.WriteText(new MemoryStream(), keyword, "x"));
    }

    [Fact]
    public void A_keyword_of_79_characters_is_allowed_and_80_is_not()
    {
        Assert.True(PngEncoder.IsTextKeyword(new string('k', 79)));
        Assert.False(PngEncoder.IsTextKeyword(new string('k', 80)));
    }
}
