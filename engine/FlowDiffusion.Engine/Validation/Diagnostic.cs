using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Validation;

/// <summary>One finding about a workflow, with where it is: file, line, column, node.</summary>
public sealed record Diagnostic(
    DiagnosticSeverity Severity,
    string Message,
    string? NodeId = null,
    SourceLocation? Location = null,
    string? File = null)
{
    /// <summary>An error.</summary>
    public static Diagnostic Error(string message, string? nodeId = null, SourceLocation? location = null, string? file = null) =>
        new(DiagnosticSeverity.Error, message, nodeId, location, file);

    /// <summary>A warning.</summary>
    public static Diagnostic Warning(string message, string? nodeId = null, SourceLocation? location = null, string? file = null) =>
        new(DiagnosticSeverity.Warning, message, nodeId, location, file);

    /// <summary>
    /// The workflow input whose given value this finding is about, when it is one; each host names it its own way (the
    /// CLI as <c>--set NAME=VALUE</c>, the API as the body's <c>inputs.NAME</c>), so <see cref="Message"/> does not.
    /// </summary>
    public string? Input { get; init; }

    /// <summary>The value given for <see cref="Input"/> as text, when the finding is about that text.</summary>
    public string? InputText { get; init; }

    /// <summary>Whether this is an error.</summary>
    public bool IsError => Severity == DiagnosticSeverity.Error;

    /// <summary>
    /// Formats as <c>file:line:col: node 'id': message</c> (warnings say so after the position), a finding about an
    /// input's value as the command line gives it: <c>file:line:col: --set NAME=VALUE: message</c>.
    /// </summary>
    public override string ToString()
    {
        var where = (File ?? "<workflow>") + (Location is { } l ? $":{l.Line}:{l.Column}" : "");
        var severity = IsError ? "" : " warning:";
        var node = NodeId is null ? "" : $" node '{NodeId}':";
        var input = Input is null ? "" : $" --set {Input}{(InputText is null ? "" : "=" + InputText)}:";
        return $"{where}:{severity}{node}{input} {Message}";
    }
}
