using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Workflows;

/// <summary>An exposed workflow parameter: set by <c>--set</c>, the API body or the editor's form.</summary>
public sealed record WorkflowInput(
    string Name,
    ParameterValueType Type,
    object? Default,
    double? Min = null,
    double? Max = null,
    IReadOnlyList<string>? Choices = null,
    string Description = "",
    string? Kind = null,
    SourceLocation? Location = null);
