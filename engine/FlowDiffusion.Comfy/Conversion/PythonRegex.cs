using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// A Python 3 <c>re</c> pattern (str, no <c>re.ASCII</c>, no <c>re.VERBOSE</c>) rewritten as a .NET regular expression that
/// matches the same spans. The pattern is parsed as Python's <c>sre_parse</c> does, so what Python rejects is reported as
/// <see cref="Invalid"/>, and what has no exact .NET spelling as <see cref="Unsupported"/>. docs/comfyui.md lists both.
/// <list type="bullet">
/// <item>Translated: literals, <c>.</c> <c>^</c> <c>$</c> <c>|</c>, greedy and lazy <c>* + ? {m} {m,} {m,n} {,n}</c>, sets
/// (re-spelt so .NET's set subtraction <c>-[…]</c> cannot arise), <c>\d</c> (both: Unicode Nd), <c>\w \W \s \S \b \B</c> as
/// Python's classes (<c>str.isalnum</c> or <c>_</c>: letters, Nd, Nl, No but not marks; <c>str.isspace</c>: .NET's plus
/// \x1c–\x1f), <c>\A</c>, <c>\Z</c> (.NET's <c>\z</c>), <c>\a \f \n \r \t \v \xhh \uhhhh \Uhhhhhhhh \0oo \ooo</c>, groups
/// (every capturing group, named or not, becomes .NET's explicitly numbered group so Python's left-to-right numbering holds),
/// <c>(?P&lt;name&gt;…)</c>, <c>(?P=name)</c>, <c>\1</c>–<c>\99</c>, <c>(?:…)</c>, look-ahead, fixed-width look-behind,
/// <c>(?#…)</c>, <c>(?i) (?m) (?s) (?u)</c> at the start and scoped <c>(?ims-ims:…)</c>.</item>
/// <item>Refused: <c>(?x)</c>, <c>(?a)</c>, <c>(?L)</c>, atomic groups and possessive quantifiers (Python 3.11+ only),
/// conditionals <c>(?(1)…)</c>, <c>\N{…}</c>, back-references inside look-behind, a repeated look-around, code points past
/// U+FFFF (Python counts them as one character, .NET as two), non-ASCII group names, nesting deeper than 100, repeat counts
/// over 100,000, and under case-insensitive matching the few characters whose case partners the two engines disagree on.</item>
/// </list>
/// </summary>
internal sealed class PythonRegex
{
    /// <summary>How long one search may run before it is given up as a node error.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    private const long Infinite = long.MaxValue / 4;
    private const int MaxDepth = 100;
    private const string Word = @"\p{L}\p{Nd}\p{Nl}\p{No}_";
    private const string Space = @"\s\u001C-\u001F";

    // The characters whose case-insensitive partners differ between Python's re and .NET: cased ones whose simple lower and
    // upper mappings do not lead back to them (ſ, ı, İ, µ, ς, ϐ, the Kelvin sign, title-case digraphs, Greek with
    // ypogegrammeni, narrow Cyrillic …) and the pairs Python's re._casefix adds on its own (ΐ ΐ, ΰ ΰ, ﬅ ﬆ); printed by
    // tools/comfy/regex_reference.py --rare-case. Under case_insensitive a pattern or string holding one is refused.
    private const string RareCase = "\u00B5\u0130\u0131\u017F\u01C5\u01C8\u01CB\u01F2\u0345\u03C2\u03D0\u03D1\u03D5\u03D6\u03F0\u03F1\u03F4\u03F5"
        + "\u1C80\u1C81\u1C82\u1C83\u1C84\u1C85\u1C86\u1C87\u1C88\u1E9B\u1E9E\u1F88\u1F89\u1F8A\u1F8B\u1F8C\u1F8D\u1F8E\u1F8F"
        + "\u1F98\u1F99\u1F9A\u1F9B\u1F9C\u1F9D\u1F9E\u1F9F\u1FA8\u1FA9\u1FAA\u1FAB\u1FAC\u1FAD\u1FAE\u1FAF\u1FBC\u1FBE\u1FCC\u1FFC"
        + "\u2126\u212A\u212B\u0390\u1FD3\u03B0\u1FE3\uFB05\uFB06";

    private readonly string source;
    private readonly StringBuilder output = new();
    private readonly Dictionary<string, int> names = new(StringComparer.Ordinal);
    private readonly HashSet<int> open = [];
    private RegexOptions options = RegexOptions.CultureInvariant;
    private int position;
    private int groups;
    private int lookBehinds;
    private bool rareSeen;

    private PythonRegex(string source) => this.source = source;

    /// <summary>The .NET regular expression; null when <see cref="Invalid"/> or <see cref="Unsupported"/> is set.</summary>
    public Regex? Regex { get; private set; }

    /// <summary>The same expression that refuses a match ending where the search starts: Python's rule after an empty match.</summary>
    public Regex? MustAdvance { get; private set; }

    /// <summary>How many capturing groups the pattern has, numbered 1 … Groups left to right as in Python.</summary>
    public int Groups => groups;

    /// <summary>The group number of each <c>(?P&lt;name&gt;…)</c>.</summary>
    public IReadOnlyDictionary<string, int> Names => names;

    /// <summary>Python's <c>re.error</c> for this pattern, when Python would reject it.</summary>
    public string? Invalid { get; private set; }

    /// <summary>Whether case-insensitive matching is on anywhere in the pattern; then the string may hold no <see cref="HasRareCase"/> character.</summary>
    public bool IgnoresCase { get; private set; }

    /// <summary>Why the pattern, valid to Python, has no exact .NET translation.</summary>
    public string? Unsupported { get; private set; }

    /// <summary>Parses <paramref name="pattern"/> under the node's three flags.</summary>
    public static PythonRegex Parse(string pattern, bool ignoreCase, bool multiline, bool dotAll)
    {
        var regex = new PythonRegex(pattern);
        if (ignoreCase) regex.options |= RegexOptions.IgnoreCase;
        if (multiline) regex.options |= RegexOptions.Multiline;
        if (dotAll) regex.options |= RegexOptions.Singleline;
        try
        {
            if (HasAstral(pattern)) throw new Refusal("a character past U+FFFF (Python counts it as one character, .NET as two)");
            regex.Alternation(0);
            if (regex.position < pattern.Length) throw new PythonError("unbalanced parenthesis", regex.position);
            regex.IgnoresCase |= (regex.options & RegexOptions.IgnoreCase) != 0;
            if (regex.IgnoresCase && regex.rareSeen)
                throw new Refusal("under case_insensitive, a character whose case partners Python and .NET disagree on (such as ſ, ı, İ, µ, ς, K)");
            var translated = regex.output.ToString();
            regex.Regex = new Regex(translated, regex.options, MatchTimeout);
            regex.MustAdvance = new Regex($"(?:{translated})(?!\\G)", regex.options, MatchTimeout);
        }
        catch (PythonError e)
        {
            regex.Invalid = e.Message;
        }
        catch (Refusal e)
        {
            regex.Unsupported = e.Message;
        }
        catch (ArgumentException e)
        {
            regex.Unsupported = $"the translated expression is not valid .NET ({e.Message})";
        }

        return regex;
    }

    /// <summary>Whether <paramref name="text"/> holds a character whose case-insensitive partners Python and .NET disagree on.</summary>
    public static bool HasRareCase(string text) => text.AsSpan().IndexOfAny(RareCase) >= 0;

    private void Rare(int low, int high)
    {
        foreach (var c in RareCase) rareSeen |= c >= low && c <= high;
    }

    /// <summary>Whether <paramref name="text"/> holds a surrogate: a code point past U+FFFF, which the nodes refuse.</summary>
    public static bool HasAstral(string text) => text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;

    private char? Peek(int ahead = 0) => position + ahead < source.Length ? source[position + ahead] : null;

    private bool Take(char c)
    {
        if (Peek() != c) return false;
        position++;
        return true;
    }

    // branch ( '|' branch )*, the widths of the union.
    private (long Min, long Max) Alternation(int depth)
    {
        if (depth > MaxDepth) throw new Refusal($"groups nested deeper than {MaxDepth}");
        var (min, max) = Sequence(depth, depth == 0);
        while (Take('|'))
        {
            output.Append('|');
            var (lo, hi) = Sequence(depth, false);
            (min, max) = (Math.Min(min, lo), Math.Max(max, hi));
        }

        return (min, max);
    }

    private (long Min, long Max) Sequence(int depth, bool first)
    {
        long min = 0, max = 0;
        var items = 0;
        while (Peek() is { } c && c != '|' && c != ')')
        {
            var start = position;
            var mark = output.Length;
            var atom = Atom(depth, first && items == 0);
            if (atom is null) continue; // a comment or the leading global flags: nothing to repeat, nothing emitted
            items++;
            var (lo, hi, repeatable) = atom.Value;
            if (Quantifier() is { } q)
            {
                if (!repeatable) throw (source[start] is '(' ? new Refusal("a repeated look-around") : new PythonError("nothing to repeat", position));
                output.Insert(mark, "(?:").Append(')').Append(q.Text);
                (lo, hi) = (Times(lo, q.Min), Times(hi, q.Max));
            }

            (min, max) = (Math.Min(Infinite, min + lo), Math.Min(Infinite, max + hi));
        }

        return (min, max);
    }

    private static long Times(long a, long b) => a == 0 || b == 0 ? 0 : a >= Infinite / b ? Infinite : a * b;

    // A quantifier after an atom, or null; a second quantifier is Python's "multiple repeat".
    private (long Min, long Max, string Text)? Quantifier()
    {
        var start = position;
        (long Min, long Max)? range = Peek() switch
        {
            '*' => (0, Infinite),
            '+' => (1, Infinite),
            '?' => (0, 1),
            '{' => Braces(),
            _ => null,
        };
        if (range is not { } r) return null;
        if (source[start] != '{') position++;
        var lazy = Take('?');
        if (Peek() == '+') throw new Refusal("a possessive quantifier (Python 3.11+ only)");
        var after = position;
        if (Peek() is '*' or '?' || (Peek() == '{' && Braces() is not null)) throw new PythonError("multiple repeat", after);
        position = after;
        var text = (r.Min, r.Max) switch
        {
            (0, Infinite) => "*",
            (1, Infinite) => "+",
            (0, 1) => "?",
            (var lo, Infinite) => $"{{{lo},}}",
            var (lo, hi) => $"{{{lo},{hi}}}",
        };
        return (r.Min, r.Max, lazy ? text + "?" : text);
    }

    // {m}, {m,}, {,n}, {m,n}, {,} when well formed (then consumed); otherwise null, and '{' is a literal.
    private (long Min, long Max)? Braces()
    {
        var start = position;
        position++;
        var lo = Digits();
        var hi = lo;
        if (Take(',')) hi = Digits();
        if (Peek() != '}' || (lo.Length == 0 && hi.Length == 0 && source[position - 1] == '{'))
        {
            position = start;
            return null;
        }

        position++;
        var min = lo.Length == 0 ? 0 : Count(lo, start);
        var max = hi.Length == 0 ? Infinite : Count(hi, start);
        if (max < min) throw new PythonError("min repeat greater than max repeat", start);
        return (min, max);
    }

    private string Digits()
    {
        var start = position;
        while (Peek() is >= '0' and <= '9') position++;
        return source[start..position];
    }

    private static long Count(string digits, int at)
    {
        if (digits.Length > 9 || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 100_000)
            throw new Refusal($"a repeat count {digits} at position {at} (at most 100,000)");
        return n;
    }

    // One atom: its widths and whether Python lets it be repeated; null for what adds nothing (comments, global flags).
    private (long Min, long Max, bool Repeatable)? Atom(int depth, bool first)
    {
        var c = source[position];
        switch (c)
        {
            case '(':
                return Group(depth, first);
            case '[':
                Set();
                return (1, 1, true);
            case '\\':
                return Escape();
            case '.':
                position++;
                output.Append('.');
                return (1, 1, true);
            case '^' or '$':
                position++;
                output.Append(c);
                return (0, 0, false);
            case '*' or '+' or '?':
                throw new PythonError("nothing to repeat", position);
            case '{':
                if (Braces() is not null) throw new PythonError("nothing to repeat", position);
                position++;
                output.Append(@"\{");
                return (1, 1, true);
            default:
                position++;
                Literal(c);
                return (1, 1, true);
        }
    }

    private void Literal(char c)
    {
        Rare(c, c);
        output.Append(@"\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
    }

    private (long Min, long Max, bool Repeatable)? Group(int depth, bool first)
    {
        var start = position++;
        int? number = null;
        string opening;
        var lookBehind = false;
        var look = false;
        if (!Take('?'))
        {
            number = ++groups;
            opening = $"(?<{number}>";
        }
        else
        {
            var kind = Peek() ?? throw new PythonError("unexpected end of pattern", position);
            position++;
            switch (kind)
            {
                case ':':
                    opening = "(?:";
                    break;
                case '=' or '!':
                    opening = $"(?{kind}";
                    look = true;
                    break;
                case '<' when Peek() is '=' or '!':
                    opening = $"(?<{source[position++]}";
                    look = lookBehind = true;
                    break;
                case '#':
                    var end = source.IndexOf(')', position);
                    if (end < 0) throw new PythonError("missing ), unterminated comment", start);
                    position = end + 1;
                    return null;
                case 'P' when Take('<'):
                {
                    var name = Name('>', start);
                    if (names.ContainsKey(name)) throw new PythonError($"redefinition of group name '{name}'", start);
                    number = ++groups;
                    names[name] = number.Value;
                    opening = $"(?<{number}>";
                    break;
                }
                case 'P' when Take('='):
                {
                    var name = Name(')', start);
                    if (!names.TryGetValue(name, out var target)) throw new PythonError($"unknown group name '{name}'", start);
                    Reference(target, start);
                    return (0, Infinite, true);
                }
                case '>':
                    throw new Refusal("an atomic group (?>…) (Python 3.11+ only)");
                case '(':
                    throw new Refusal("a conditional (?(…)…|…)");
                default:
                    position--;
                    return Flags(depth, first, start);
            }
        }

        if (number is { } n) open.Add(n);
        if (lookBehind) lookBehinds++;
        output.Append(opening);
        var (min, max) = Alternation(depth + 1);
        if (!Take(')')) throw new PythonError("missing ), unterminated subpattern", start);
        output.Append(')');
        if (number is { } m) open.Remove(m);
        if (lookBehind)
        {
            lookBehinds--;
            if (min != max) throw new PythonError("look-behind requires fixed-width pattern", start);
        }

        return look ? (0, 0, false) : (min, max, true);
    }

    // (?flags), (?flags:…), (?flags-flags:…) with Python's letters; '(' and '?' already read, position at the first letter.
    private (long Min, long Max, bool Repeatable)? Flags(int depth, bool first, int start)
    {
        var on = Letters(start);
        var off = Take('-') ? Letters(start) : null;
        if (off is { Length: 0 }) throw new PythonError("missing flag", position);
        if (on.Length == 0 && off is null) throw new PythonError($"unknown extension ?{Peek()}", start + 1);
        IgnoresCase |= on.Contains('i', StringComparison.Ordinal);
        if (Take(')'))
        {
            if (off is not null) throw new PythonError("missing :", position - 1);
            if (!first) throw new PythonError("global flags not at the start of the expression", start);
            foreach (var letter in on)
                options |= letter switch { 'i' => RegexOptions.IgnoreCase, 'm' => RegexOptions.Multiline, 's' => RegexOptions.Singleline, _ => 0 };
            return null;
        }

        if (!Take(':')) throw new PythonError(Peek() is null ? "missing -, : or )" : "unknown flag", position);
        output.Append("(?").Append(on.Replace("u", "", StringComparison.Ordinal));
        if (off is not null) output.Append('-').Append(off);
        output.Append(':');
        var (min, max) = Alternation(depth + 1);
        if (!Take(')')) throw new PythonError("missing ), unterminated subpattern", start);
        output.Append(')');
        return (min, max, true);
    }

    private string Letters(int start)
    {
        var begin = position;
        while (Peek() is { } c && "aiLmsux".Contains(c, StringComparison.Ordinal))
        {
            if (c is 'a' or 'L' or 'x') throw new Refusal($"the inline flag (?{c}) at position {start}");
            position++;
        }

        return source[begin..position];
    }

    private string Name(char terminator, int start)
    {
        var end = source.IndexOf(terminator, position);
        if (end < 0) throw new PythonError("missing " + terminator + ", unterminated name", position);
        var name = source[position..end];
        position = end + 1;
        if (name.Length == 0) throw new PythonError("missing group name", start);
        if (!IsIdentifier(name))
        {
            if (name.Any(ch => ch > '\x7f')) throw new Refusal($"the non-ASCII group name '{name}'");
            throw new PythonError($"bad character in group name '{name}'", start);
        }

        return name;
    }

    private static bool IsIdentifier(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_');

    private void Reference(int group, int at)
    {
        if (open.Contains(group)) throw new PythonError("cannot refer to an open group", at);
        if (lookBehinds > 0) throw new Refusal("a back-reference inside a look-behind");
        output.Append(@"\k<").Append(group).Append('>');
    }

    // An escape outside a set.
    private (long Min, long Max, bool Repeatable)? Escape()
    {
        var start = position++;
        var c = Peek() ?? throw new PythonError("bad escape (end of pattern)", start);
        position++;
        switch (c)
        {
            case 'A':
                output.Append(@"\A");
                return (0, 0, false);
            case 'Z':
                output.Append(@"\z");
                return (0, 0, false);
            case 'b':
                output.Append($"(?:(?<=[{Word}])(?![{Word}])|(?<![{Word}])(?=[{Word}]))");
                return (0, 0, false);
            case 'B':
                // Python 3.11-3.13: \B never matches the empty string.
                output.Append($"(?!\\A\\z)(?:(?<=[{Word}])(?=[{Word}])|(?<![{Word}])(?![{Word}]))");
                return (0, 0, false);
            case 'd':
                output.Append(@"\d");
                return (1, 1, true);
            case 'D':
                output.Append(@"\D");
                return (1, 1, true);
            case 'w' or 'W' or 's' or 'S':
                output.Append('[').Append(c is 'W' or 'S' ? "^" : "").Append(c is 'w' or 'W' ? Word : Space).Append(']');
                return (1, 1, true);
            case >= '1' and <= '9':
            {
                var digits = c.ToString();
                if (Peek() is >= '0' and <= '9')
                {
                    var octal = c <= '7' && Peek() <= '7' && Peek(1) is >= '0' and <= '7';
                    if (octal)
                    {
                        var value = Convert.ToInt32(source.Substring(start + 1, 3), 8);
                        position += 2;
                        if (value > 0xFF) throw new PythonError($"octal escape value \\{source.Substring(start + 1, 3)} outside of range 0-0o377", start);
                        Literal((char)value);
                        return (1, 1, true);
                    }

                    digits += source[position++];
                }

                var group = int.Parse(digits, CultureInfo.InvariantCulture);
                if (group > groups) throw new PythonError($"invalid group reference {group}", start + 1);
                Reference(group, start);
                return (0, Infinite, true);
            }

            default:
                position = start;
                Literal(CharacterEscape(inSet: false));
                return (1, 1, true);
        }
    }

    // A character escape (\n, \x41, \u0041, \101, \.) read from position; what names no character is Python's "bad escape".
    private char CharacterEscape(bool inSet)
    {
        var start = position++;
        var c = source[position++];
        switch (c)
        {
            case 'a': return '\a';
            case 'b' when inSet: return '\b';
            case 'f': return '\f';
            case 'n': return '\n';
            case 'r': return '\r';
            case 't': return '\t';
            case 'v': return '\v';
            case 'x': return (char)Hex(2, start);
            case 'u': return (char)Hex(4, start);
            case 'U':
            {
                var value = Hex(8, start);
                if (value > 0x10FFFF) throw new PythonError($"bad escape {source[start..position]}", start);
                if (value > 0xFFFF) throw new Refusal($"the escape {source[start..position]} past U+FFFF");
                return (char)value;
            }

            case 'N':
                throw new Refusal(@"a named character escape \N{…}");
            case >= '0' and <= '7' when inSet || c == '0':
            {
                var digits = c.ToString();
                while (digits.Length < 3 && Peek() is >= '0' and <= '7') digits += source[position++];
                var value = Convert.ToInt32(digits, 8);
                if (value > 0xFF) throw new PythonError($"octal escape value \\{digits} outside of range 0-0o377", start);
                return (char)value;
            }

            default:
                if (char.IsAsciiLetterOrDigit(c)) throw new PythonError($"bad escape \\{c}", start);
                if (char.IsSurrogate(c)) throw new Refusal("a character past U+FFFF");
                return c;
        }
    }

    private int Hex(int length, int start)
    {
        if (position + length > source.Length || !long.TryParse(source.AsSpan(position, length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            || source.AsSpan(position, length).ContainsAnyExcept("0123456789abcdefABCDEF"))
            throw new PythonError($"incomplete escape {source[start..Math.Min(source.Length, position + length)]}", start);
        position += length;
        if (value is >= 0xD800 and <= 0xDFFF) throw new Refusal($"the surrogate escape {source[start..position]}");
        return value > 0x10FFFF ? 0x110000 : (int)value;
    }

    // [...]: re-spelt item by item as Python reads them, so no .NET-only meaning ([a-[b]] subtraction, \p) can arise.
    private void Set()
    {
        var start = position++;
        var negated = Take('^');
        var plain = new StringBuilder();
        var complements = new List<string>();
        var firstItem = true;
        while (true)
        {
            var c = Peek() ?? throw new PythonError("unterminated character set", start);
            if (c == ']' && !firstItem)
            {
                position++;
                break;
            }

            firstItem = false;
            int? low;
            if (c == '\\' && Peek(1) is 'd' or 'D' or 'w' or 'W' or 's' or 'S')
            {
                var kind = source[position + 1];
                position += 2;
                var set = kind switch { 'd' or 'D' => @"\d", 'w' or 'W' => Word, _ => Space };
                if (char.IsUpper(kind)) complements.Add(set);
                else plain.Append(set);
                low = null;
            }
            else if (c == '\\')
            {
                if (Peek(1) is null) throw new PythonError("unterminated character set", start);
                low = CharacterEscape(inSet: true);
            }
            else
            {
                position++;
                low = c;
            }

            if (Peek() == '-' && Peek(1) is { } next && next != ']')
            {
                var at = position++;
                if (low is null) throw new PythonError("bad character range", at);
                int high;
                if (next == '\\')
                {
                    if (Peek(1) is 'd' or 'D' or 'w' or 'W' or 's' or 'S') throw new PythonError("bad character range", at);
                    high = CharacterEscape(inSet: true);
                }
                else
                {
                    position++;
                    high = next;
                }

                if (high < low) throw new PythonError("bad character range", at);
                Rare(low.Value, high);
                plain.Append($@"\u{low:X4}-\u{high:X4}");
            }
            else if (low is { } single)
            {
                Rare(single, single);
                plain.Append($@"\u{single:X4}");
            }
        }

        // Python's set is the union of its items and of each complemented class; a negated set, none of them.
        var parts = new List<string>();
        if (plain.Length > 0) parts.Add($"[{plain}]");
        parts.AddRange(complements.Select(s => $"[^{s}]"));
        if (parts.Count == 0)
        {
            output.Append(negated ? @"[\s\S]" : "(?!)");
            return;
        }

        if (!negated && parts.Count == 1) output.Append(parts[0]);
        else if (!negated) output.Append("(?:").Append(string.Join('|', parts)).Append(')');
        else if (complements.Count == 0) output.Append($"[^{plain}]");
        else output.Append("(?:(?!").Append(string.Join('|', parts)).Append(@")[\s\S])");
    }

    private sealed class PythonError(string message, int at) : Exception($"{message} at position {at}");

    private sealed class Refusal(string message) : Exception(message);
}
