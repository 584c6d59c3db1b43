using System.Reflection;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Engine.Schema;

/// <summary>A named parameter of a node type, as its declaration says.</summary>
public sealed record ParameterDescriptor(
    string Name,
    ParameterValueType ValueType,
    object? Default,
    double Min,
    double Max,
    double Step,
    IReadOnlyList<string> Choices,
    bool Multiline,
    bool Required,
    ParameterKind Kind,
    string Description,
    PropertyInfo Property)
{
    /// <summary>Whether a lower bound is declared.</summary>
    public bool HasMin => !double.IsNaN(Min);

    /// <summary>Whether an upper bound is declared.</summary>
    public bool HasMax => !double.IsNaN(Max);

    /// <summary>Whether the declaration marks it advanced (<see cref="ParameterAttribute.Advanced"/>): the editor tucks it away.</summary>
    public bool Advanced { get; init; }
}
