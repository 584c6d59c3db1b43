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

    /// <summary>Whether this is an error.</summary>
    public bool IsError => Severity == DiagnosticSeverity.Error;

    /// <summary>Formats as <c>file:line:col: node 'id': message</c> (warnings say so after the position).</summary>
    public override string ToString()
    {
        var where = (File ?? "<workflow>") + (Location is { } l ? $":{l.Line}:{l.Column}" : "");
        var severity = IsError ? "" : " warning:";
        var node = NodeId is null ? "" : $" node '{NodeId}':";
        return $"{where}:{severity}{node} {Message}";
    }
}
