using System.Text.RegularExpressions;

namespace FlowDiffusion.Server.Api;

/// <summary>Saved workflow names: a plain file stem, so a name can never reach outside the workflows folder.</summary>
public static partial class WorkflowNames
{
    /// <summary>Whether <paramref name="name"/> is a valid workflow name (letters, digits, '_', '-', '.'; no leading dot; at most 100).</summary>
    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name) && !name.Contains("..", StringComparison.Ordinal);

    /// <summary>The file of a valid name in <paramref name="folder"/>.</summary>
    public static string FileOf(string folder, string name) => Path.Combine(Path.GetFullPath(folder), name + ".yaml");

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")]
    private static partial Regex Pattern();
}
