using System.Globalization;
using System.Text;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// Python's <c>str.lower()</c>: simple lowercase mappings per code point (supplementary planes included), plus the
/// two rules .NET's invariant lowercasing lacks: U+0130 becomes "i̇" and a capital sigma at a word end becomes ς.
/// </summary>
internal static class PythonLowercase
{
    private const int CapitalSigma = 0x03A3;

    /// <summary>Lowercases <paramref name="text"/> the way CPython does.</summary>
    public static string Apply(string text)
    {
        var builder = new StringBuilder(text.Length);
        var index = 0;
        while (index < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out var consumed);
            if (rune.Value == 0x0130)
                builder.Append("i\u0307");
            else if (rune.Value == CapitalSigma)
                builder.Append(IsFinalSigma(text, index, consumed) ? 'ς' : 'σ');
            else
                builder.Append(Rune.ToLowerInvariant(rune).ToString());
            index += consumed;
        }
        return builder.ToString();
    }

    // Unicode Final_Sigma: a cased letter before (skipping case-ignorables) and none after.
    private static bool IsFinalSigma(string text, int index, int length)
    {
        var before = index;
        var casedBefore = false;
        while (before > 0)
        {
            var rune = RuneBefore(text, before, out var size);
            before -= size;
            if (IsCaseIgnorable(rune))
                continue;
            casedBefore = IsCased(rune);
            break;
        }
        if (!casedBefore)
            return false;
        var after = index + length;
        while (after < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(after), out var rune, out var size);
            after += size;
            if (IsCaseIgnorable(rune))
                continue;
            return !IsCased(rune);
        }
        return true;
    }

    private static Rune RuneBefore(string text, int end, out int size)
    {
        Rune.DecodeLastFromUtf16(text.AsSpan(0, end), out var rune, out size);
        return rune;
    }

    private static bool IsCased(Rune rune) => Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol => true,
        _ => rune.Value is '\'' or '.' or ':' or 0x00B7 or 0x0387 or 0x05F4 or 0x2018 or 0x2019 or 0x2024
            or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A,
    };
}
