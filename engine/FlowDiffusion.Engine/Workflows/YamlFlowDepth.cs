namespace FlowDiffusion.Engine.Workflows;

/// <summary>
/// A linear pre-scan of YAML text for flow-collection nesting (<c>[</c>, <c>{</c>), run before any YAML parser sees the
/// text: the parser's scanner reads a whole run of openers before it emits an event and pays per opener for every one
/// still open (quadratic), and building nodes recurses once per level, so a 20,000-deep <c>[[[[…</c> costs seconds and
/// then overflows the stack. Quoted scalars, comments and block scalars are skipped, so brackets inside text never count.
/// </summary>
internal static class YamlFlowDepth
{
    /// <summary>The line (1-based) where flow nesting first exceeds <paramref name="limit"/>, or 0 when it never does.</summary>
    public static int FirstLineBeyond(string text, int limit)
    {
        int depth = 0, line = 1, i = 0, blockIndent = -1;
        var atScalarStart = true;
        while (i < text.Length)
        {
            // At the start of a line: skip the lines of a block scalar (indented deeper than its key's line).
            if (i == 0 || text[i - 1] == '\n')
            {
                var indent = 0;
                while (i + indent < text.Length && text[i + indent] == ' ') indent++;
                var blank = i + indent >= text.Length || text[i + indent] is '\n' or '\r';
                if (blockIndent >= 0 && (blank || indent > blockIndent))
                {
                    i = SkipLine(text, i, ref line);
                    continue;
                }
                blockIndent = -1;
                atScalarStart = true;
            }
            var c = text[i];
            switch (c)
            {
                case '\n':
                    line++;
                    atScalarStart = true;
                    i++;
                    continue;
                case '#' when i == 0 || char.IsWhiteSpace(text[i - 1]):
                    while (i < text.Length && text[i] != '\n') i++;
                    continue;
                case '"' when atScalarStart:
                    i = SkipDoubleQuoted(text, i + 1, ref line);
                    atScalarStart = false;
                    continue;
                case '\'' when atScalarStart:
                    i = SkipSingleQuoted(text, i + 1, ref line);
                    atScalarStart = false;
                    continue;
                case '|' or '>' when atScalarStart && depth == 0 && RestIsBlockHeader(text, i + 1):
                    blockIndent = LineIndent(text, i);
                    i = SkipLine(text, i, ref line);
                    continue;
                case '[' or '{':
                    if (++depth > limit) return line;
                    atScalarStart = true;
                    break;
                case ']' or '}':
                    if (depth > 0) depth--;
                    atScalarStart = false;
                    break;
                case ',' or ':' or ' ' or '\t' or '\r':
                    atScalarStart = true;
                    break;
                default:
                    atScalarStart = false;
                    break;
            }
            i++;
        }
        return 0;
    }

    private static int SkipLine(string text, int i, ref int line)
    {
        while (i < text.Length && text[i] != '\n') i++;
        if (i < text.Length) line++;
        return i + 1;
    }

    private static int SkipDoubleQuoted(string text, int i, ref int line)
    {
        for (; i < text.Length; i++)
        {
            if (text[i] == '\\') i++;
            else if (text[i] == '"') return i + 1;
            if (i < text.Length && text[i] == '\n') line++;
        }
        return i;
    }

    private static int SkipSingleQuoted(string text, int i, ref int line)
    {
        for (; i < text.Length; i++)
        {
            if (text[i] == '\'')
            {
                if (i + 1 < text.Length && text[i + 1] == '\'') i++;
                else return i + 1;
            }
            else if (text[i] == '\n') line++;
        }
        return i;
    }

    // '|' or '>' then only chomping/indentation indicators, spaces and maybe a comment before the line ends.
    private static bool RestIsBlockHeader(string text, int i)
    {
        for (; i < text.Length && text[i] != '\n'; i++)
        {
            var c = text[i];
            if (c == '#' && char.IsWhiteSpace(text[i - 1])) return true;
            if (c is not ('+' or '-' or ' ' or '\t' or '\r') && !char.IsAsciiDigit(c)) return false;
        }
        return true;
    }

    private static int LineIndent(string text, int i)
    {
        var start = text.LastIndexOf('\n', Math.Max(0, i - 1)) + 1;
        var indent = 0;
        while (start + indent < text.Length && text[start + indent] == ' ') indent++;
        return indent;
    }
}
