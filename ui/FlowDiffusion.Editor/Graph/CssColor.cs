namespace FlowDiffusion.Editor.Graph;

/// <summary>
/// Colours read from a workflow file go into style attributes; only a plain colour (<c>#rgb</c>, <c>#rrggbb</c>,
/// <c>#rrggbbaa</c> or a colour name) may, so a file cannot inject other CSS.
/// </summary>
public static class CssColor
{
    /// <summary>Whether <paramref name="color"/> is a plain CSS colour that is safe in a style attribute.</summary>
    public static bool IsSafe(string color) =>
        color.Length is > 0 and <= 32 && (color[0] == '#' ? color.Length is 4 or 5 or 7 or 9 && color.Skip(1).All(char.IsAsciiHexDigit) : color.All(char.IsAsciiLetter));
}
