using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// image.save's prefix as a pattern, as ComfyUI's SaveImage <c>filename_prefix</c> takes one: <c>%date:FORMAT%</c> with
/// ComfyUI's tokens (<c>yyyy yy MM M dd d hh h mm m ss s</c>; plain <c>%date%</c> is <c>yyyy-MM-dd</c>),
/// <c>%workflow%</c> (the workflow's name), and <c>%NAME%</c> for the run's workflow input NAME (<c>%seed%</c>).
/// What a placeholder gives is made file-safe (anything but letters, digits, '_', '-' and '.' becomes '_', at most 40
/// characters); the text around placeholders is kept as written.
/// </summary>
internal static partial class OutputNamePattern
{
    private const int MaxValueLength = 40;

    /// <summary>The prefix with its placeholders replaced.</summary>
    /// <exception cref="ArgumentException">A placeholder that names nothing (the message lists what it may name).</exception>
    public static string Expand(string pattern, WorkflowInfo workflow, DateTime now) => Placeholder().Replace(pattern, match =>
    {
        var name = match.Groups["name"].Value;
        var format = match.Groups["format"];
        if (name == "date") return Safe(Date(format.Success ? format.Value : "yyyy-MM-dd", now));
        if (format.Success) throw Unknown(match.Value, workflow);
        if (name == "workflow") return Safe(workflow.Name);
        if (workflow.Inputs.TryGetValue(name, out var value)) return Safe(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
        throw Unknown(match.Value, workflow);
    });

    /// <summary>
    /// The prefix expanded and checked to be a plain file name the output API serves on every platform: letters, digits,
    /// '_', '-' and single dots inside, at most 100 characters, not starting with '.'.
    /// </summary>
    /// <exception cref="ArgumentException">The expanded prefix is not such a name, or a placeholder names nothing.</exception>
    public static string ExpandPlain(string pattern, WorkflowInfo workflow, DateTime now, string parameter = "prefix")
    {
        var prefix = Expand(pattern, workflow, now);
        if (!IsPlain(prefix))
            throw new ArgumentException($"parameter '{parameter}': '{pattern}' is not a plain file name; use letters, digits, '_', '-' and '.' (at most 100, not starting with '.') and placeholders such as %date%, %workflow%, %seed%");
        return prefix;
    }

    /// <summary>Whether <paramref name="name"/> is a plain file or folder name (see <see cref="ExpandPlain"/>).</summary>
    public static bool IsPlain(string name) =>
        name.Length is > 0 and <= 100 && !name.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.')) && !name.Contains("..") && name[0] != '.';

    // ComfyUI's date tokens: runs of y, M, d, h, m, s; two or more letters pad to two digits, yy is the year's last two.
    private static string Date(string format, DateTime now) => DateToken().Replace(format, token => token.Value[0] switch
    {
        'y' => token.Length >= 4 ? now.Year.ToString("0000", CultureInfo.InvariantCulture) : (now.Year % 100).ToString("00", CultureInfo.InvariantCulture),
        'M' => Pad(now.Month, token.Length),
        'd' => Pad(now.Day, token.Length),
        'h' => Pad(now.Hour, token.Length),
        'm' => Pad(now.Minute, token.Length),
        _ => Pad(now.Second, token.Length),
    });

    private static string Pad(int value, int width) => value.ToString(width >= 2 ? "00" : "0", CultureInfo.InvariantCulture);

    private static string Safe(string value)
    {
        var safe = new StringBuilder(Math.Min(value.Length, MaxValueLength));
        foreach (var c in value.Take(MaxValueLength)) safe.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '_');
        return safe.ToString().Replace("..", "__", StringComparison.Ordinal);
    }

    private static ArgumentException Unknown(string placeholder, WorkflowInfo workflow) => new(
        $"parameter 'prefix': {placeholder} names nothing; use %date% or %date:yyyy-MM-dd%, %workflow%, or a workflow input" +
        (workflow.Inputs.Count > 0 ? $" ({string.Join(", ", workflow.Inputs.Keys.Select(k => $"%{k}%"))})" : " (this workflow has none)"));

    [GeneratedRegex(@"%(?<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?<format>[^%]*))?%")]
    private static partial Regex Placeholder();

    [GeneratedRegex("y+|M+|d+|h+|m+|s+")]
    private static partial Regex DateToken();
}
