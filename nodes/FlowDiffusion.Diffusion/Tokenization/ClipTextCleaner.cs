using System.Net;
using System.Text;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// CLIP's text clean-up before pre-tokenization: the parts of ftfy's <c>fix_text</c> that .NET can reproduce
/// (HTML entities, ligatures, full-width forms, curly quotes, control characters, NFC), then CLIP's own
/// double HTML decode, whitespace collapse and Python-style lowercasing. Mojibake repair is not attempted.
/// </summary>
internal static class ClipTextCleaner
{
    // ftfy fix_latin_ligatures: only the Latin ligatures that NFKC would split, not every compatibility form.
    private static readonly Dictionary<char, string> Ligatures = new()
    {
        ['\u0132'] = "IJ", ['\u0133'] = "ij", ['\u0149'] = "'n", ['\u01c4'] = "D\u017d", ['\u01c5'] = "D\u017e",
        ['\u01c6'] = "d\u017e", ['\u01c7'] = "LJ", ['\u01c8'] = "Lj", ['\u01c9'] = "lj", ['\u01ca'] = "NJ",
        ['\u01cb'] = "Nj", ['\u01cc'] = "nj", ['\ufb00'] = "ff", ['\ufb01'] = "fi", ['\ufb02'] = "fl",
        ['\ufb03'] = "ffi", ['\ufb04'] = "ffl", ['\ufb05'] = "\u017ft", ['\ufb06'] = "st",
    };

    /// <summary>Cleans <paramref name="text"/> exactly as far as CLIP's tokenizer does before splitting it.</summary>
    public static string Clean(string text)
    {
        if (text.Length == 0)
            return text;
        // ftfy unescapes HTML repeatedly unless the text already looks like HTML; CLIP then decodes twice more.
        var decodes = text.Contains('<') ? 2 : 8;
        for (var i = 0; i < decodes; i++)
        {
            var decoded = WebUtility.HtmlDecode(text);
            if (decoded == text)
                break;
            text = decoded;
        }
        text = FixCharacters(text).Normalize(NormalizationForm.FormC);
        return PythonLowercase.Apply(CollapseWhitespace(text));
    }

    private static string FixCharacters(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (IsRemovedControl(c))
                continue;
            if (Ligatures.TryGetValue(c, out var replacement))
                builder.Append(replacement);
            else if (c is '\u02bc' or >= '\u2018' and <= '\u201b')
                builder.Append('\'');
            else if (c is >= '\u201c' and <= '\u201f')
                builder.Append('"');
            else if (c == '\u3000')
                builder.Append(' ');
            else if (c is >= '\uff01' and <= '\uffef')
                builder.Append(c.ToString().Normalize(NormalizationForm.FormKC));
            else
                builder.Append(c);
        }
        return builder.ToString();
    }

    // ftfy remove_control_chars: C0 controls other than tab and line breaks, DEL, deprecated format characters, BOM.
    private static bool IsRemovedControl(char c) =>
        c is <= '\u0008' or '\u000b' or >= '\u000e' and <= '\u001f' or '\u007f'
            or >= '\u206a' and <= '\u206f' or '\ufeff' or >= '\ufff9' and <= '\ufffc';

    private static string CollapseWhitespace(string text)
    {
        var builder = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }
            if (pendingSpace)
                builder.Append(' ');
            pendingSpace = false;
            builder.Append(c);
        }
        return builder.ToString();
    }
}
