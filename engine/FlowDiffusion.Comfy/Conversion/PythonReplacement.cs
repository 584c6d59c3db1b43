using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// The replacement string of Python's <c>re.sub</c>, parsed as Python's <c>parse_template</c> does and expanded per match
/// by us (not by .NET's <c>$</c> syntax, so <c>$</c> is always literal): <c>\1</c>–<c>\99</c>, <c>\g&lt;n&gt;</c> and
/// <c>\g&lt;name&gt;</c> insert a group (empty when it took no part), <c>\0</c> and three-digit <c>\ooo</c> are octal
/// characters, <c>\a \b \f \n \r \t \v \\</c> the usual characters, other escapes of ASCII letters Python's "bad escape",
/// and any other backslash stays as written (<c>\&amp;</c> is two characters).
/// </summary>
internal sealed class PythonReplacement
{
    // Literal text (Group is null) or a group number.
    private readonly List<(string? Text, int? Group)> parts = [];

    private PythonReplacement()
    {
    }

    /// <summary>Python's error for this replacement, when Python would raise one.</summary>
    public string? Invalid { get; private set; }

    /// <summary>Parses <paramref name="template"/> against the groups of <paramref name="regex"/>.</summary>
    public static PythonReplacement Parse(string template, PythonRegex regex)
    {
        var result = new PythonReplacement();
        try
        {
            result.Read(template, regex);
        }
        catch (FormatException e)
        {
            result.Invalid = e.Message;
        }

        return result;
    }

    /// <summary>Appends the replacement for <paramref name="match"/> to <paramref name="builder"/>.</summary>
    public void Expand(Match match, StringBuilder builder)
    {
        foreach (var (text, group) in parts)
            builder.Append(group is { } g ? (g == 0 ? match.Value : match.Groups[g].Value) : text);
    }

    /// <summary>The length <see cref="Expand"/> would append for <paramref name="match"/>.</summary>
    public long Length(Match match) =>
        parts.Sum(p => (long)(p.Group is { } g ? (g == 0 ? match.Length : match.Groups[g].Length) : p.Text!.Length));

    private void Read(string template, PythonRegex regex)
    {
        var literal = new StringBuilder();
        void Group(int number, int at)
        {
            if (number > regex.Groups) throw new FormatException($"invalid group reference {number} at position {at}");
            if (literal.Length > 0) parts.Add((literal.ToString(), null));
            literal.Clear();
            parts.Add((null, number));
        }

        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c != '\\')
            {
                literal.Append(c);
                continue;
            }

            var start = i;
            if (++i >= template.Length) throw new FormatException($"bad escape (end of pattern) at position {start}");
            c = template[i];
            bool Octal(int at) => at < template.Length && template[at] is >= '0' and <= '7';
            if (c == 'g')
            {
                if (i + 1 >= template.Length || template[i + 1] != '<') throw new FormatException($"missing < at position {i + 1}");
                var end = template.IndexOf('>', i + 2);
                if (end < 0) throw new FormatException($"missing >, unterminated name at position {i + 2}");
                var name = template[(i + 2)..end];
                if (name.Length == 0) throw new FormatException($"missing group name at position {i + 2}");
                i = end;
                if (regex.Names.TryGetValue(name, out var named)) Group(named, start + 3);
                else if (name.All(char.IsAsciiDigit)) Group(name.Length > 9 ? int.MaxValue : int.Parse(name, CultureInfo.InvariantCulture), start + 3);
                else if (char.IsAsciiLetter(name[0]) || name[0] == '_' || name.Any(ch => ch > '\x7f')) throw new FormatException($"unknown group name '{name}'");
                else throw new FormatException($"bad character in group name '{name}' at position {start + 3}");
            }
            else if (c == '0')
            {
                var digits = "0";
                while (digits.Length < 3 && Octal(i + 1)) digits += template[++i];
                literal.Append((char)(Convert.ToInt32(digits, 8) & 0xFF));
            }
            else if (char.IsAsciiDigit(c))
            {
                var digits = c.ToString();
                if (i + 1 < template.Length && char.IsAsciiDigit(template[i + 1]))
                {
                    digits += template[++i];
                    if (c <= '7' && digits[1] <= '7' && Octal(i + 1))
                    {
                        digits += template[++i];
                        var value = Convert.ToInt32(digits, 8);
                        if (value > 0xFF) throw new FormatException($"octal escape value \\{digits} outside of range 0-0o377 at position {start}");
                        literal.Append((char)value);
                        continue;
                    }
                }

                Group(int.Parse(digits, CultureInfo.InvariantCulture), start + 1);
            }
            else
            {
                var escaped = c switch { 'a' => "\a", 'b' => "\b", 'f' => "\f", 'n' => "\n", 'r' => "\r", 't' => "\t", 'v' => "\v", '\\' => "\\", _ => null };
                if (escaped is null && char.IsAsciiLetter(c)) throw new FormatException($"bad escape \\{c} at position {start}");
                literal.Append(escaped ?? "\\" + c);
            }
        }

        if (literal.Length > 0) parts.Add((literal.ToString(), null));
    }
}
