using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Workflows;

/// <summary>An exposed workflow parameter: set by <c>--set</c>, the API body or the editor's form.</summary>
/// <remarks>
/// Its allowed values are <see cref="Choices"/>, or, when <see cref="ChoicesOf"/> names a node parameter
/// (<c>choices: schedule.name</c>), that parameter's: <see cref="InputChoices.Of"/> gives either.
/// </remarks>
public sealed record WorkflowInput(
    string Name,
    ParameterValueType Type,
    object? Default,
    double? Min = null,
    double? Max = null,
    IReadOnlyList<string>? Choices = null,
    string Description = "",
    string? Kind = null,
    SourceLocation? Location = null,
    string? ChoicesOf = null);
