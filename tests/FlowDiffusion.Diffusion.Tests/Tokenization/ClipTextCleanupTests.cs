using FlowDiffusion.Diffusion.Tokenization;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Tokenization;

public sealed class ClipTextCleanupTests
{
    // Each pair tokenizes alike because CLIP's clean-up (ftfy, html, whitespace, lowercase) maps one onto the other.
    public static TheoryData<string, string> Equivalents() => new()
    {
        { "don\u2019t \u201cred\u201d", "don't \"red\"" },
        { "cafe\u0301", "caf\u00e9" },
        { "\uff52\uff45\uff44\u3000\uff43\uff41\uff54", "red cat" },
        { "\ufb01ne \ufb00", "fine ff" },
        { "&amp;amp;amp; &lt;red&gt;", "& <red>" },
        { "red\u0000\u0007cat\ufeff", "redcat" },
        { "RED\tCat\r\n\u00a0 Blue", "red cat blue" },
    };

    [Theory]
    [MemberData(nameof(Equivalents))]
    public void Cleanup_makes_variant_spellings_tokenize_alike(string variant, string canonical)
    {
        var tokenizer = TokenizerTestData.Tiny();

        Assert.Equal(tokenizer.EncodeToIds(canonical), tokenizer.EncodeToIds(variant));
    }

    [Theory]
    [InlineData("\u03a3\u039f\u03a6\u039f\u03a3", "\u03c3\u03bf\u03c6\u03bf\u03c2")]
    [InlineData("\u03a3\u0391 \u03a3", "\u03c3\u03b1 \u03c3")]
    [InlineData("\u039f\u03a3.", "\u03bf\u03c2.")]
    [InlineData("\u0130stanbul", "i\u0307stanbul")]
    [InlineData("\U0001D401OLD \u00c9T\u00c9", "\U0001D401old \u00e9t\u00e9")]
    public void Lowercase_follows_python_str_lower(string text, string expected)
    {
        Assert.Equal(expected, PythonLowercase.Apply(text));
    }
}
